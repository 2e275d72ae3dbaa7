"""Credit grants at their edges: a full account, odd stored data, returns after expiry."""

from __future__ import annotations

from datetime import timedelta

from shared.grants import MAX_OPEN_GRANTS, GrantCategory, GrantTerms
from shared.ledger import EntryType, Posting, invariant_violations
from shared.usage import UsageEvent, record_usage, void_usage
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
