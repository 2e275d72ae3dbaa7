"""The relay's delivery loop: production-shaped events, retries, and no crash on a bad one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.trigger_relay import TriggerRelay, ledger_commits, listened_collection
from functions.registry import TRIGGER_FUNCTIONS, TriggerFunction
from shared.adapters.firestore_events import CREATED, decode_document_event

TRIGGER = TriggerFunction("t", "m", CREATED, "credit_transactions/{entry_id}", "test")


@dataclass
class FakeRef:
    path: str


@dataclass
class FakeSnapshot:
    reference: FakeRef
    data: dict[str, Any]
    update_time: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    create_time: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        return self.data


def change(data: dict[str, Any]) -> FakeSnapshot:
    return FakeSnapshot(FakeRef("credit_transactions/a_0000000001"), data)


def relay(deliver: Any) -> TriggerRelay:
    return TriggerRelay(None, "demo-x", deliver, triggers=(TRIGGER,), sleep=lambda _: None)


def test_every_registered_trigger_names_a_collection_the_relay_can_listen_to() -> None:
    assert {listened_collection(t) for t in TRIGGER_FUNCTIONS} == {"user_credits", "outbox"}


def test_a_failing_delivery_is_retried_until_it_succeeds() -> None:
    calls: list[tuple[str, Mapping[str, str], bytes]] = []

    def deliver(name: str, headers: Mapping[str, str], body: bytes) -> int:
        calls.append((name, headers, body))
        return 500 if len(calls) < 3 else 200

    subject = relay(deliver)
    subject._deliver_with_retries(TRIGGER, change({"user_id": "a", "seq": 1}))
    assert len(calls) == 3
    assert subject.delivered == 1
    _, headers, body = calls[0]
    assert headers["ce-type"] == CREATED
    assert headers["ce-subject"] == "documents/credit_transactions/a_0000000001"
    assert decode_document_event(body).value == {"user_id": "a", "seq": 1}
    assert len({c[1]["ce-id"] for c in calls}) == 1  # retries carry the same event id


def test_a_delivery_that_raises_or_never_succeeds_gives_up_without_crashing() -> None:
    def deliver(name: str, headers: Mapping[str, str], body: bytes) -> int:
        raise RuntimeError("boom")

    subject = relay(deliver)
    subject._deliver_with_retries(TRIGGER, change({"user_id": "a"}))
    assert (subject.delivered, subject.failed) == (0, 1)


def test_a_document_that_cannot_be_encoded_is_skipped() -> None:
    subject = relay(lambda *_: pytest.fail("nothing to deliver"))
    subject._deliver_with_retries(TRIGGER, change({"where": object()}))
    assert subject.failed == 1


def entry_snapshot(user_id: str, seq: int, second: int, balance: int) -> FakeSnapshot:
    from shared.adapters.firestore_ledger_codec import entry_to_document
    from shared.ledger.entries import EntryType, LedgerEntry

    at = datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)
    entry = LedgerEntry(user_id, seq, EntryType.USAGE, -1, balance, 0, at)
    return FakeSnapshot(FakeRef(f"credit_transactions/{entry.id}"), entry_to_document(entry))


def test_entries_are_grouped_into_one_commit_per_account_and_instant() -> None:
    # Two commits of one account landing within one poll stay two written events of its document.
    commits = ledger_commits([
        entry_snapshot("a", 2, 1, 99), entry_snapshot("a", 3, 1, 98),  # one commit of two entries
        entry_snapshot("a", 4, 2, 97), entry_snapshot("b", 1, 2, 10),
    ])  # fmt: skip
    assert sorted([(e.user_id, e.seq) for e in c] for c in commits) == [
        [("a", 2), ("a", 3)],
        [("a", 4)],
        [("b", 1)],
    ]
