"""A budget's capture on fakes: its events charged at most once ever, counted in summaries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.accounts.history import GroupBy, usage_summary
from shared.errors import InvalidRequest
from shared.ledger.entries import EntryType, Posting
from shared.ledger.invariants import invariant_violations
from shared.usage.holds import (
    HoldRequest,
    HoldStatus,
    MeteredEvent,
    capture_metered,
    place_hold,
)
from tests.unit.fakes import NOW, MemoryHolds, MemoryLedger

METER = "metering@project.iam.gserviceaccount.com"


@pytest.fixture
def ledger() -> MemoryLedger:
    ledger = MemoryLedger()
    ledger.append("alice", [Posting(EntryType.GRANT, 1_000)], effect_key="fund:alice")
    return ledger


@pytest.fixture
def holds(ledger: MemoryLedger) -> MemoryHolds:
    return MemoryHolds(ledger)


def period(ledger: MemoryLedger, holds: MemoryHolds, hold_id: str, events: list[MeteredEvent]):
    place_hold(ledger, holds, HoldRequest("alice", "chat", 100, hold_id, timedelta(minutes=5)),
               NOW, METER)  # fmt: skip
    return capture_metered(ledger, holds, hold_id, events=events, now=NOW, actor=METER,
                           services={"chat"})  # fmt: skip


def test_an_event_id_charged_in_one_period_is_a_replay_in_every_later_one(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    first, charged = period(ledger, holds, "p1", [MeteredEvent("e1", 10), MeteredEvent("e2", 5)])
    assert (first.status, first.captured, charged) == (HoldStatus.CAPTURED, 15, 2)
    later, charged = period(ledger, holds, "p2", [MeteredEvent("e2", 5), MeteredEvent("e3", 7)])
    assert (later.captured, charged) == (7, 1)
    only_replays, charged = period(ledger, holds, "p3", [MeteredEvent("e1", 10)])
    assert (only_replays.status, charged) == (HoldStatus.RELEASED, 0)
    head = ledger.head("alice")
    assert (head.balance, head.held) == (1_000 - 22, 0)
    assert invariant_violations(ledger.of("alice")) == []


def test_a_repeated_capture_charges_nothing_more(ledger: MemoryLedger, holds: MemoryHolds) -> None:
    events = [MeteredEvent("e1", 10)]
    period(ledger, holds, "p1", events)
    again, _ = capture_metered(ledger, holds, "p1", events=events, now=NOW, actor=METER,
                               services={"chat"})  # fmt: skip
    assert (again.status, again.captured) == (HoldStatus.CAPTURED, 10)
    assert ledger.head("alice").balance == 990


def test_usage_summaries_count_every_event_of_a_capture(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    period(ledger, holds, "p1", [MeteredEvent(f"e{n}", 2) for n in range(30)])
    summary = usage_summary(ledger, "alice", GroupBy.SERVICE, None, None)
    assert [(g.key, g.amount, g.count) for g in summary] == [("chat", 60, 30)]


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([MeteredEvent("e1", 60), MeteredEvent("e2", 41)], "events"),  # beyond the hold
        ([MeteredEvent("e1", 1), MeteredEvent("e1", 1)], "events"),  # one id twice
        ([MeteredEvent("e/1", 1)], "events.event_id"),
        ([MeteredEvent("e1", 0)], "events.amount"),
    ],
)
def test_bad_events_are_refused_naming_the_field_and_change_nothing(
    ledger: MemoryLedger, holds: MemoryHolds, events: list[MeteredEvent], field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        period(ledger, holds, "p1", events)
    assert field in refused.value.details["fields"]
    assert holds.get("p1").status is HoldStatus.HELD  # type: ignore[union-attr]
    assert holds.events == {}
