"""Credit grants: the consumption order, expiry at its boundaries, merging, holds and returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InsufficientCredits
from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import (
    MAX_OPEN_GRANTS,
    PAID,
    Grant,
    GrantCategory,
    GrantTerms,
    add,
    draw,
    in_consumption_order,
)
from shared.ledger.invariants import invariant_violations
from tests.unit.fakes.ledger import NOW, Clock, MemoryLedger

DAY = timedelta(days=1)
USER = "grant-user"


def promo(days: float | None = None, priority: int = 50) -> GrantTerms:
    expiry = None if days is None else NOW + timedelta(days=days)
    return GrantTerms(GrantCategory.PROMOTIONAL, priority, expiry)


def paid(days: float | None = None, priority: int = 50) -> GrantTerms:
    expiry = None if days is None else NOW + timedelta(days=days)
    return GrantTerms(GrantCategory.PAID, priority, expiry)


def credit(amount: int, terms: GrantTerms, kind: EntryType = EntryType.GRANT) -> Posting:
    return Posting(kind, amount, grant=terms)


def spend(amount: int) -> Posting:
    return Posting(EntryType.USAGE, -amount)


def remaining(ledger: MemoryLedger) -> dict[str, int]:
    return {g.id: g.remaining for g in ledger.head(USER).open_grants()}


def sound(ledger: MemoryLedger) -> None:
    assert invariant_violations(ledger.of(USER)) == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(clock: Clock) -> MemoryLedger:
    return MemoryLedger(clock)


def test_consumption_order_is_priority_then_expiry_then_promotional_then_oldest() -> None:
    t0 = NOW
    grants = [
        Grant(paid(None, priority=10), 1, t0),  # highest priority wins over everything
        Grant(promo(5), 1, t0),
        Grant(paid(2), 1, t0),  # earlier expiry beats promotional
        Grant(promo(None), 1, t0 + DAY),
        Grant(paid(None), 1, t0),  # same expiry (never): promotional first
    ]
    order = [g.id for g in in_consumption_order(grants)]
    assert order == [
        paid(None, 10).id,
        paid(2).id,
        promo(5).id,
        promo(None).id,
        paid(None).id,
    ]


def test_among_equal_terms_the_oldest_lot_goes_first() -> None:
    older = Grant(GrantTerms(GrantCategory.PROMOTIONAL, 50, NOW + DAY), 5, NOW)
    # Different expiry keeps them separate lots; equal keys up to age compare by opened_at.
    a = Grant(GrantTerms(GrantCategory.PAID, 50, None), 5, NOW)
    b = Grant(GrantTerms(GrantCategory.PAID, 40, None), 5, NOW + DAY)
    assert [g.id for g in in_consumption_order([a, b, older])] == [b.id, older.id, a.id]


def test_a_spend_draws_in_order_and_records_what_it_drew(ledger: MemoryLedger) -> None:
    ledger.append(USER, [credit(100, paid(), EntryType.PURCHASE)])
    ledger.append(USER, [credit(30, promo(10))])
    ledger.append(USER, [credit(20, promo())])
    result = ledger.append(USER, [spend(45)], effect_key="usage:1")
    assert result.entries[0].draws == ((promo(10).id, -30), (promo().id, -15))
    assert remaining(ledger) == {promo().id: 5, paid().id: 100}
    sound(ledger)


def test_grants_with_the_same_terms_merge_into_one_lot(ledger: MemoryLedger) -> None:
    for _ in range(3):
        ledger.append(USER, [credit(10, promo(7))])
    assert remaining(ledger) == {promo(7).id: 30}
    # Sub-second differences in expiry name the same lot.
    later = GrantTerms(GrantCategory.PROMOTIONAL, 50, NOW + timedelta(days=7, microseconds=9))
    ledger.append(USER, [credit(1, later)])
    assert remaining(ledger) == {promo(7).id: 31}


def test_a_credit_is_spendable_until_just_before_its_expiry(
    ledger: MemoryLedger, clock: Clock
) -> None:
    ledger.append(USER, [credit(10, promo(1))])
    clock.now = NOW + DAY - timedelta(microseconds=1)
    ledger.append(USER, [spend(4)])
    assert ledger.head(USER).balance == 6
    clock.now = NOW + DAY  # the instant of expiry: gone
    with pytest.raises(InsufficientCredits):
        ledger.append(USER, [spend(1)])
    sound(ledger)


def test_a_spend_at_the_instant_of_expiry_writes_the_expiry_first(
    ledger: MemoryLedger, clock: Clock
) -> None:
    ledger.append(USER, [credit(10, promo(1))])
    ledger.append(USER, [credit(5, paid())])
    clock.now = NOW + DAY
    result = ledger.append(USER, [spend(3)], effect_key="usage:e")
    types = [e.type for e in ledger.of(USER)]
    assert types == [EntryType.GRANT, EntryType.GRANT, EntryType.EXPIRY, EntryType.USAGE]
    expiry = ledger.of(USER)[2]
    assert expiry.amount == -10 and expiry.draws == ((promo(1).id, -10),)
    assert expiry.effect_key is None  # the expiry is no part of the charge
    assert result.entries[0].draws == ((paid().id, -3),)
    assert ledger.head(USER).balance == 2
    sound(ledger)


def test_reads_never_count_an_expired_credit_before_the_expiry_is_written(
    ledger: MemoryLedger, clock: Clock
) -> None:
    ledger.append(USER, [credit(10, promo(1))])
    clock.now = NOW + 2 * DAY
    head = ledger.head(USER)
    assert head.balance == 10  # nothing written yet
    seen = head.as_of(clock.now)
    assert (seen.balance, seen.available, seen.open_grants()) == (0, 0, ())
    assert seen.totals is not None and seen.totals[EntryType.EXPIRY] == -10


def test_the_expiry_job_writes_the_expiry_once(ledger: MemoryLedger, clock: Clock) -> None:
    ledger.append(USER, [credit(10, promo(1))])
    ledger.append(USER, [credit(4, paid())])
    assert ledger.accounts_due_to_expire(NOW, 10) == []
    clock.now = NOW + DAY
    assert ledger.accounts_due_to_expire(clock.now, 10) == [USER]
    ledger.expire_grants(USER)
    ledger.expire_grants(USER)  # nothing left to expire: no entry
    assert [e.type for e in ledger.of(USER)][-1] is EntryType.EXPIRY
    assert len(ledger.of(USER)) == 3
    assert ledger.accounts_due_to_expire(clock.now, 10) == []
    assert ledger.head(USER).balance == 4
    sound(ledger)


def test_a_hold_reserves_from_grants_and_its_credits_do_not_expire_while_held(
    ledger: MemoryLedger, clock: Clock
) -> None:
    ledger.append(USER, [credit(10, promo(1))])
    ledger.append(USER, [credit(10, paid())])
    place = Posting(EntryType.HOLD, 0, held_delta=12)
    placed = ledger.append(USER, [place], effect_key="hold:h:place")
    assert placed.entries[0].draws == ((promo(1).id, -10), (paid().id, -2))
    clock.now = NOW + 2 * DAY  # the promotional grant has expired, but its credits are held
    ledger.expire_grants(USER)
    assert ledger.head(USER).balance == 20  # nothing of the hold expired
    capture = Posting(EntryType.HOLD_CAPTURE, -5, held_delta=-5)
    release = Posting(EntryType.HOLD_RELEASE, 0, held_delta=-7, returns="hold:h:place")
    ledger.append(USER, [capture, release], effect_key="hold:h:settle")
    # The capture kept the first 5 reserved (promotional); the 7 returned are 2 paid and 5
    # promotional, which come back to a grant that has expired, so they expire at once.
    entries = ledger.of(USER)
    assert [e.type for e in entries[-3:]] == [
        EntryType.HOLD_CAPTURE,
        EntryType.HOLD_RELEASE,
        EntryType.EXPIRY,
    ]
    assert entries[-2].draws == ((paid().id, 2), (promo(1).id, 5))
    assert entries[-1].draws == ((promo(1).id, -5),)
    assert ledger.head(USER).balance == 10
    assert remaining(ledger) == {paid().id: 10}
    sound(ledger)


def test_a_return_restores_the_same_grants_even_after_they_closed(
    ledger: MemoryLedger, clock: Clock
) -> None:
    ledger.append(USER, [credit(10, promo(3))])
    ledger.append(USER, [credit(10, paid())])
    ledger.append(USER, [spend(15)], effect_key="usage:x")
    assert remaining(ledger) == {paid().id: 5}
    void = Posting(EntryType.VOID, 15, returns="usage:x")
    result = ledger.append(USER, [void], effect_key="void:usage:x")
    assert result.entries[0].draws == ((paid().id, 5), (promo(3).id, 10))
    assert remaining(ledger) == {promo(3).id: 10, paid().id: 10}
    sound(ledger)


def test_a_clawback_takes_its_orders_grants_first_then_in_order_then_overdraws(
    ledger: MemoryLedger,
) -> None:
    ledger.append(USER, [credit(50, promo(30))])
    ledger.append(
        USER,
        [credit(100, paid(), EntryType.PURCHASE), credit(10, promo(60), EntryType.BONUS)],
        effect_key="order:o1:grant",
    )
    ledger.append(USER, [spend(95)])  # 50 promo(30), 10 bonus, 35 paid
    clawback = Posting(EntryType.REFUND, -110, takes_first="order:o1:grant", allow_negative=True)
    result = ledger.append(USER, [clawback], effect_key="refund:o1:r1")
    assert result.entries[0].draws == ((paid().id, -65),)
    assert ledger.head(USER).balance == -45
    assert remaining(ledger) == {}
    # What comes in next pays the overdraft first.
    paying = ledger.append(USER, [credit(60, promo())])
    assert paying.entries[0].draws == ((promo().id, 60), (promo().id, -45))
    assert remaining(ledger) == {promo().id: 15}
    sound(ledger)


def test_open_grants_stay_bounded_and_an_overflow_keeps_its_credits_at_least_as_long() -> None:
    grants: list[Grant] = []
    for day in range(1, MAX_OPEN_GRANTS + 1):
        grants, _ = add(grants, promo(day), 1, NOW)
    grants, moved = add(grants, promo(10.5), 7, NOW)
    assert len(grants) == MAX_OPEN_GRANTS
    assert moved == [(promo(11).id, 7)]  # the lot expiring soonest after the promised day
    grants, moved = add(grants, promo(MAX_OPEN_GRANTS + 5), 1, NOW)
    assert moved == [(promo(MAX_OPEN_GRANTS).id, 1)]  # none later: the longest-lasting lot


def test_a_draw_reports_what_it_could_not_cover() -> None:
    grants, draws, short = draw([Grant(PAID, 5, NOW)], 8)
    assert (grants, draws, short) == ([], [(PAID.id, -5)], 3)


def test_grant_terms_name_their_lot_and_back() -> None:
    terms = GrantTerms(GrantCategory.PROMOTIONAL, 7, datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert terms.id == "promotional.7.20310203T040506Z"
    assert GrantTerms.from_id(terms.id) == terms
    assert GrantTerms.from_id(PAID.id) == PAID


@pytest.mark.parametrize("priority", [-1, 101, True, 1.5])
def test_priority_is_an_integer_from_0_to_100(priority: object) -> None:
    with pytest.raises(Exception, match="priority"):
        GrantTerms(GrantCategory.PAID, priority)  # type: ignore[arg-type]


def test_the_audit_finds_grants_that_do_not_match_the_balance(ledger: MemoryLedger) -> None:
    from dataclasses import replace

    ledger.append(USER, [credit(10, paid())])
    entry = ledger.of(USER)[0]
    forged = replace(entry, grants_after=(Grant(PAID, 9, NOW),))
    assert any("open grants" in p for p in invariant_violations([forged]))
    drew_expired = replace(entry, type=EntryType.USAGE, draws=((promo(-1).id, -1),), amount=10)
    assert any("expired grant" in p for p in invariant_violations([drew_expired]))


def test_the_expiry_job_writes_off_every_due_account_in_pages_and_skips_a_failing_one(
    clock: Clock,
) -> None:
    from shared.errors import Unavailable
    from shared.ledger.expiry import expire_due_grants

    class FlakyLedger(MemoryLedger):
        def expire_grants(self, user_id: str) -> None:
            if user_id == "acct-007":
                raise Unavailable("busy")
            super().expire_grants(user_id)

    ledger = FlakyLedger(clock)
    for n in range(250):
        ledger.append(f"acct-{n:03d}", [credit(5, promo(1))])
    clock.now = NOW + DAY
    assert expire_due_grants(ledger, clock.now, limit=100) == 249
    assert ledger.accounts_due_to_expire(clock.now, 10) == ["acct-007"]
    assert all(not invariant_violations(ledger.of(f"acct-{n:03d}")) for n in range(250))
