"""Usage charges on fakes: each event charged once, a replay answers alike, a reused id is 409."""

from __future__ import annotations

import pytest

from shared.errors import Conflict, InsufficientCredits, InvalidRequest
from shared.ledger.entries import EntryType, Posting
from shared.usage.charges import UsageEvent, record_usage, record_usage_batch
from tests.unit.fakes import MemoryLedger

METER = "metering@project.iam.gserviceaccount.com"


def funded(*balances: tuple[str, int]) -> MemoryLedger:
    ledger = MemoryLedger()
    for user, amount in balances:
        ledger.append(user, [Posting(EntryType.GRANT, amount)], effect_key=f"fund:{user}")
    return ledger


def event(
    event_id: str, amount: int = 30, user: str = "alice", service: str = "chat"
) -> UsageEvent:
    return UsageEvent(user, service, amount, event_id)


def test_a_usage_event_is_charged_once_and_its_replay_answers_the_same() -> None:
    ledger = funded(("alice", 100))
    first = record_usage(ledger, event("e1"), METER)
    again = record_usage(ledger, event("e1"), METER)

    assert (first.balance_after, first.replayed) == (70, False)
    assert (again.transaction_id, again.balance_after, again.replayed) == (
        first.transaction_id,
        70,
        True,
    )
    assert ledger.head("alice").balance == 70


def test_a_charge_the_account_cannot_afford_deducts_nothing() -> None:
    ledger = funded(("alice", 20))
    with pytest.raises(InsufficientCredits):
        record_usage(ledger, event("e1"), METER)
    assert ledger.head("alice").balance == 20


@pytest.mark.parametrize(
    "reuse",
    [
        event("e1", user="bob"),  # another account
        event("e1", amount=31),  # another amount
    ],
)
def test_an_event_id_reused_for_another_account_or_amount_is_409_and_changes_nothing(
    reuse: UsageEvent,
) -> None:
    ledger = funded(("alice", 100), ("bob", 100))
    record_usage(ledger, event("e1"), METER)

    with pytest.raises(Conflict) as refused:
        record_usage(ledger, reuse, METER)
    assert refused.value.details == {"event_id": "e1"}  # nothing of the other account
    assert (ledger.head("alice").balance, ledger.head("bob").balance) == (70, 100)


def test_an_event_id_reused_by_another_caller_is_409() -> None:
    ledger = funded(("alice", 100))
    record_usage(ledger, event("e1"), METER)
    with pytest.raises(Conflict):
        record_usage(ledger, event("e1"), "other@project.iam.gserviceaccount.com")
    assert ledger.head("alice").balance == 70


def test_the_same_event_id_in_two_services_is_two_events() -> None:
    ledger = funded(("alice", 100))
    record_usage(ledger, event("e1", service="chat"), METER)
    record_usage(ledger, event("e1", service="search"), METER)
    assert ledger.head("alice").balance == 40


def test_a_batch_charges_each_event_once_and_one_refusal_stops_no_other() -> None:
    ledger = funded(("alice", 100), ("bob", 10))
    record_usage(ledger, event("e0"), METER)  # alice: 70
    outcomes = record_usage_batch(
        ledger,
        [
            event("e1"),  # alice: 40
            event("e0"),  # replay of the earlier charge
            event("b1", user="bob"),  # bob cannot afford 30
            event("e2"),  # alice: 10
            event("e1"),  # the same event twice in one batch: once
        ],
        METER,
    )

    assert [o.charge.replayed if o.charge else type(o.error) for o in outcomes] == [
        False,
        True,
        InsufficientCredits,
        False,
        True,
    ]
    assert (ledger.head("alice").balance, ledger.head("bob").balance) == (10, 10)
    assert [e.amount for e in ledger.of("alice") if e.type is EntryType.USAGE] == [-30, -30, -30]


def test_a_batch_event_whose_id_is_claimed_elsewhere_fails_alone() -> None:
    ledger = funded(("alice", 100), ("bob", 100))
    record_usage(ledger, event("e1", user="bob"), METER)
    outcomes = record_usage_batch(ledger, [event("e1"), event("e2")], METER)

    assert isinstance(outcomes[0].error, Conflict)
    assert outcomes[1].charge is not None
    assert (ledger.head("alice").balance, ledger.head("bob").balance) == (70, 70)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"amount": 0}, "amount"),
        ({"service": "Not A Service"}, "service"),
        ({"event_id": "a/b"}, "event_id"),
        ({"user_id": ""}, "user_id"),
    ],
)
def test_bad_usage_is_refused_naming_the_field(fields: dict[str, object], named: str) -> None:
    given: dict[str, object] = {"user_id": "alice", "service": "chat", "amount": 1, "event_id": "e"}
    with pytest.raises(InvalidRequest) as refused:
        UsageEvent(**{**given, **fields})  # type: ignore[arg-type]
    assert list(refused.value.details["fields"]) == [named]
