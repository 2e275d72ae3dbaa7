"""Credit grants at their edges: a full account, odd stored data, returns after expiry."""

from __future__ import annotations

from datetime import timedelta

from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import MAX_OPEN_GRANTS, GrantCategory, GrantTerms
from shared.ledger.invariants import invariant_violations
from shared.usage.charges import UsageEvent, record_usage, void_usage
from tests.unit.fakes.ledger import NOW, Clock, MemoryLedger

DAY = timedelta(days=1)
USER = "edge-user"


def promo(days: float | None = None) -> GrantTerms:
    return GrantTerms(
        GrantCategory.PROMOTIONAL, expires_at=None if days is None else NOW + timedelta(days=days)
    )


def grant(ledger: MemoryLedger, amount: int, terms: GrantTerms) -> None:
    ledger.append(USER, [Posting(EntryType.GRANT, amount, grant=terms)])


def test_a_void_in_a_full_account_restores_an_expired_grant_expired() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    grant(ledger, 10, promo(1))  # the lot the charge empties, and which then expires
    for day in range(2, MAX_OPEN_GRANTS + 1):
        grant(ledger, 1, promo(day))
    assert len(ledger.head(USER).open_grants()) == MAX_OPEN_GRANTS
    record_usage(ledger, UsageEvent(USER, "ai", 10, "e1"), "svc")  # all of promo(1): it closes
    grant(ledger, 1, promo(MAX_OPEN_GRANTS + 1))  # the account is full again
    balance = ledger.head(USER).balance
    clock.now = NOW + DAY + timedelta(seconds=1)  # promo(1) has expired
    void = void_usage(ledger, "ai", "e1", actor="svc", now=clock.now, window=timedelta(days=2))
    # The 10 credits go back to promo(1), which has expired: they expire with it.
    assert void.balance_after == balance
    assert ledger.head(USER).as_of(clock.now).balance == balance
    assert invariant_violations(ledger.of(USER)) == []


def test_a_void_after_a_clawback_overdraft_never_pays_it_with_expired_credits() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    grant(ledger, 100, promo(1))
    bought = Posting(EntryType.PURCHASE, 100, grant=GrantTerms(GrantCategory.PAID))
    ledger.append(USER, [bought], effect_key="credit_order:o1:grant")
    record_usage(ledger, UsageEvent(USER, "ai", 150, "e1"), "svc")  # promo 100, then paid 50
    clawback = Posting(
        EntryType.REFUND, -100, allow_negative=True, takes_first="credit_order:o1:grant"
    )
    ledger.append(USER, [clawback], effect_key="credit_order:o1:refund:r1")
    assert ledger.head(USER).balance == -50  # 50 paid credits were spent: owed
    clock.now = NOW + 2 * DAY  # promo(1) has expired
    void_usage(ledger, "ai", "e1", actor="svc", now=clock.now, window=3 * DAY)
    # The 100 promotional credits come back expired; only the 50 paid ones are live, and they
    # pay what is owed. Nothing is left to spend.
    head = ledger.head(USER).as_of(clock.now)
    assert (head.balance, head.open_grants()) == (0, ())


def test_paid_credits_in_a_full_account_stay_paid_and_never_expire() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    for day in range(1, MAX_OPEN_GRANTS + 1):  # campaign grants: the account is full
        grant(ledger, 1, promo(day))
    paid = GrantTerms(GrantCategory.PAID)
    ledger.append(USER, [Posting(EntryType.PURCHASE, 100, grant=paid)], effect_key="order:1")
    clock.now = NOW + (MAX_OPEN_GRANTS + 1) * DAY  # every campaign grant has expired
    head = ledger.head(USER).as_of(clock.now)
    assert head.balance == 100  # what was bought never expires
    assert [(g.terms, g.remaining) for g in head.open_grants()] == [(paid, 100)]


def test_a_returned_overdrawing_clawback_cancels_its_debt_and_restores_the_grants_it_took() -> None:
    ledger = MemoryLedger(Clock())
    bought = Posting(EntryType.PURCHASE, 100, grant=GrantTerms(GrantCategory.PAID))
    ledger.append(USER, [bought], effect_key="credit_order:o1:grant")
    record_usage(ledger, UsageEvent(USER, "ai", 100, "e1"), "svc")
    grant(ledger, 30, promo(10))
    clawback = Posting(
        EntryType.REFUND, -100, allow_negative=True, takes_first="credit_order:o1:grant"
    )
    ledger.append(USER, [clawback], effect_key="credit_order:o1:refund:r1")  # 70 owed
    back = Posting(EntryType.REFUND, 100, returns="credit_order:o1:refund:r1")
    ledger.append(USER, [back], effect_key="credit_order:o1:refund:r1:restore")
    # The 70 cancel the debt; the 30 go back to the grant they came from, expiring as before.
    head = ledger.head(USER)
    assert [(g.terms, g.remaining) for g in head.open_grants()] == [(promo(10), 30)]
    assert invariant_violations(ledger.of(USER)) == []
