"""Check, void, the welcome grant, bonus expiry and admin grant terms, on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.accounts.admin_credits import change_credits
from shared.accounts.credit_accounts import WelcomeGrant, read_account, read_balance
from shared.errors import IdempotencyKeyReused, InvalidRequest, NotFound
from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import GrantCategory, GrantTerms
from shared.purchases.crediting import grant_purchase_credits
from shared.purchases.orders import CreditOrder
from shared.usage.charges import (
    UsageEvent,
    VoidWindowClosed,
    check_credits,
    record_usage,
    void_usage,
)
from tests.unit.fakes import NOW, Clock, MemoryAccounts, MemoryLedger

DAY = timedelta(days=1)
WINDOW = timedelta(hours=24)


def funded(credits: int = 100) -> tuple[MemoryLedger, Clock]:
    clock = Clock()
    ledger = MemoryLedger(clock)
    ledger.append("u", [Posting(EntryType.PURCHASE, credits)], effect_key="buy")
    return ledger, clock


def test_a_check_reads_without_writing_and_counts_no_expired_credit() -> None:
    ledger, _ = funded(100)
    soon = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=NOW + DAY)
    ledger.append("u", [Posting(EntryType.GRANT, 50, grant=soon)])
    written = len(ledger.entries)
    assert check_credits(ledger, "u", 150, NOW).allowed
    later = check_credits(ledger, "u", 150, NOW + DAY)
    assert (later.allowed, later.available) == (False, 100)
    assert len(ledger.entries) == written
    with pytest.raises(InvalidRequest, match="amount"):
        check_credits(ledger, "u", 0, NOW)


def test_a_void_inside_its_window_returns_the_credits_once_and_only_for_its_service() -> None:
    ledger, clock = funded(100)
    record_usage(ledger, UsageEvent("u", "ai", 40, "e1"), "svc")
    clock.now = NOW + WINDOW  # the last instant of the window
    first = void_usage(ledger, "ai", "e1", actor="svc", now=clock.now, window=WINDOW)
    assert (first.amount, first.balance_after, first.replayed) == (40, 100, False)
    clock.now = NOW + 2 * WINDOW  # past the window, a repeat still answers the first void
    again = void_usage(ledger, "ai", "e1", actor="svc", now=clock.now, window=WINDOW)
    assert (again.transaction_id, again.replayed) == (first.transaction_id, True)
    assert ledger.head("u").balance == 100
    with pytest.raises(NotFound):
        void_usage(ledger, "other", "e1", actor="svc", now=clock.now, window=WINDOW)


def test_a_void_after_its_window_is_refused_and_changes_nothing() -> None:
    ledger, clock = funded(100)
    record_usage(ledger, UsageEvent("u", "ai", 40, "e1"), "svc")
    clock.now = NOW + WINDOW + timedelta(seconds=1)
    with pytest.raises(VoidWindowClosed):
        void_usage(ledger, "ai", "e1", actor="svc", now=clock.now, window=WINDOW)
    assert ledger.head("u").balance == 60


def test_the_welcome_grant_is_given_once_on_first_use_and_expires() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    accounts = MemoryAccounts(ledger)
    welcome = WelcomeGrant(ledger, credits=500, expiry_days=30)
    assert read_balance(accounts, "new", NOW, welcome).balance == 500
    assert read_balance(accounts, "new", NOW, welcome).balance == 500
    assert [e.type for e in ledger.of("new")] == [EntryType.GRANT]
    account = read_account(accounts, "new", NOW + 30 * DAY, welcome)
    assert (account.balance.balance, account.grants) == (0, ())
    assert len(ledger.of("new")) == 1  # nothing more given after it expired


def test_an_account_with_history_never_gets_the_welcome_grant() -> None:
    ledger, _ = funded(10)
    welcome = WelcomeGrant(ledger, credits=500, expiry_days=0)
    assert read_balance(MemoryAccounts(ledger), "u", NOW, welcome).balance == 10


def test_package_bonuses_expire_as_configured_when_the_order_was_made() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    order = CreditOrder(
        "ord1", "u", "razorpay", "order_x", 500, 90, 590, "inr", 500, 50, NOW,
        bonus_expiry_days=7,
    )  # fmt: skip
    grant_purchase_credits(ledger, order, "razorpay", "pay_1", now=NOW)
    grants = {g.terms.category: g for g in ledger.head("u").open_grants()}
    assert grants[GrantCategory.PAID].expires_at is None
    assert grants[GrantCategory.PROMOTIONAL].expires_at == NOW + 7 * DAY
    assert ledger.head("u").as_of(NOW + 7 * DAY).balance == 500


def test_admin_grant_terms_are_part_of_its_idempotency_key() -> None:
    ledger = MemoryLedger()
    paid = GrantTerms(GrantCategory.PAID, 20)
    first = change_credits(
        ledger, "admin", "u", amount=10, reason="goodwill", adjust=False, request_key="k",
        grant=paid, now=NOW,
    )  # fmt: skip
    assert ledger.head("u").open_grants()[0].terms == paid
    with pytest.raises(IdempotencyKeyReused):
        change_credits(
            ledger, "admin", "u", amount=10, reason="goodwill", adjust=False, request_key="k",
            grant=GrantTerms(GrantCategory.PROMOTIONAL, 20), now=NOW,
        )  # fmt: skip
    assert first.entry.amount == 10


def test_admin_grant_terms_need_credits_coming_in_and_a_future_expiry() -> None:
    ledger, _ = funded(100)
    past = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=NOW - DAY)
    with pytest.raises(InvalidRequest, match="expires_at"):
        change_credits(ledger, "a", "u", amount=5, reason="r", adjust=False, grant=past, now=NOW)
    with pytest.raises(InvalidRequest, match="category"):
        change_credits(
            ledger, "a", "u", amount=-5, reason="r", adjust=True,
            grant=GrantTerms(GrantCategory.PAID), now=NOW,
        )  # fmt: skip
    assert ledger.head("u").balance == 100
