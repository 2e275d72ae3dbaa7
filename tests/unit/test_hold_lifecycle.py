"""Holds on fakes: place, capture (all or part), release, expire; each settles exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import Conflict, InsufficientCredits, NotFound
from shared.ledger.entries import EntryType, Posting
from shared.ledger.invariants import invariant_violations
from shared.usage.holds import (
    HoldExpired,
    HoldRequest,
    HoldStatus,
    capture_hold,
    expire_due_holds,
    place_hold,
    release_hold,
)
from tests.unit.fakes import NOW, MemoryHolds, MemoryLedger

METER = "metering@project.iam.gserviceaccount.com"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def ledger() -> MemoryLedger:
    ledger = MemoryLedger()
    ledger.append("alice", [Posting(EntryType.GRANT, 100)], effect_key="fund:alice")
    ledger.append("bob", [Posting(EntryType.GRANT, 100)], effect_key="fund:bob")
    return ledger


@pytest.fixture
def holds(ledger: MemoryLedger) -> MemoryHolds:
    return MemoryHolds(ledger)


def place(
    ledger: MemoryLedger, holds: MemoryHolds, hold_id: str = "h1", amount: int = 60, **kw: str
) -> None:
    request = HoldRequest(kw.get("user", "alice"), "chat", amount, hold_id, 10 * MINUTE)
    place_hold(ledger, holds, request, NOW, METER)


def available(ledger: MemoryLedger, user: str = "alice") -> tuple[int, int, int]:
    head = ledger.head(user)
    return head.balance, head.held, head.available


def test_placing_a_hold_reserves_credits_without_spending_them(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    assert available(ledger) == (100, 60, 40)
    hold = holds.get("h1")
    assert hold is not None and hold.status is HoldStatus.HELD
    assert hold.expires_at == NOW + 10 * MINUTE


def test_a_hold_beyond_what_is_available_is_refused(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds, "h1", 60)
    with pytest.raises(InsufficientCredits):
        place(ledger, holds, "h2", 50)
    assert available(ledger) == (100, 60, 40) and holds.get("h2") is None


def test_placing_the_same_hold_again_changes_nothing(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    place(ledger, holds)
    assert available(ledger) == (100, 60, 40)


def test_a_hold_id_used_for_another_account_is_409(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    with pytest.raises(Conflict):
        place(ledger, holds, user="bob")
    assert available(ledger, "bob") == (100, 0, 100)


def test_a_partial_capture_spends_that_much_and_releases_the_rest(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    hold = capture_hold(
        ledger, holds, "h1", amount=45, now=NOW + MINUTE, actor=METER, services={"chat"}
    )
    assert (hold.status, hold.captured) == (HoldStatus.CAPTURED, 45)
    assert available(ledger) == (55, 0, 55)
    types = [e.type for e in ledger.of("alice")][-2:]
    assert types == [EntryType.HOLD_CAPTURE, EntryType.HOLD_RELEASE]


def test_a_repeated_capture_answers_the_same_and_a_release_after_it_is_409(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    for _ in range(2):
        capture_hold(ledger, holds, "h1", amount=None, now=NOW, actor=METER, services={"chat"})
    assert available(ledger) == (40, 0, 40)
    with pytest.raises(Conflict):
        release_hold(ledger, holds, "h1", now=NOW, actor=METER, services={"chat"})
    assert available(ledger) == (40, 0, 40)


def test_release_gives_every_credit_back_once(ledger: MemoryLedger, holds: MemoryHolds) -> None:
    place(ledger, holds)
    for _ in range(2):
        hold = release_hold(ledger, holds, "h1", now=NOW, actor=METER, services={"chat"})
    assert hold.status is HoldStatus.RELEASED
    assert available(ledger) == (100, 0, 100)


def test_another_services_hold_is_not_found(ledger: MemoryLedger, holds: MemoryHolds) -> None:
    place(ledger, holds)
    with pytest.raises(NotFound):
        release_hold(ledger, holds, "h1", now=NOW, actor=METER, services={"search"})
    assert available(ledger) == (100, 60, 40)


def test_a_capture_too_late_releases_the_hold_and_answers_expired(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds)
    late = NOW + 11 * MINUTE
    with pytest.raises(HoldExpired):
        capture_hold(ledger, holds, "h1", amount=None, now=late, actor=METER, services={"chat"})
    assert available(ledger) == (100, 0, 100)
    hold = holds.get("h1")
    assert hold is not None and hold.status is HoldStatus.EXPIRED


def test_expiry_releases_only_holds_past_their_time_and_only_once(
    ledger: MemoryLedger, holds: MemoryHolds
) -> None:
    place(ledger, holds, "h1", 30)
    request = HoldRequest("alice", "chat", 30, "h2", 60 * MINUTE)
    place_hold(ledger, holds, request, NOW, METER)

    assert expire_due_holds(ledger, holds, NOW + 11 * MINUTE) == 1
    assert expire_due_holds(ledger, holds, NOW + 12 * MINUTE) == 0
    assert available(ledger) == (100, 30, 70)
    assert invariant_violations(ledger.of("alice")) == []
