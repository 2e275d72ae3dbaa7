"""Accounts, history, usage summary, packages and devices on fakes: reads and settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.accounts.alerts import DEFAULT_LOW_BALANCE_THRESHOLD
from shared.accounts.credit_accounts import read_account, read_balance, update_low_balance_threshold
from shared.accounts.devices import MAX_DEVICES_PER_USER, Platform, register_device
from shared.accounts.history import GroupBy, history, usage_summary
from shared.errors import InvalidRequest
from shared.ledger.entries import EntryType, Posting
from shared.purchases.packages import DEFAULT_PACKAGES, CreditPackage, packages_on_sale
from tests.unit.fakes import NOW, Clock, MemoryAccounts, MemoryDevices, MemoryLedger, MemoryPackages

DAY = timedelta(days=1)


def spending_account() -> tuple[MemoryLedger, Clock]:
    clock = Clock()
    ledger = MemoryLedger(clock)
    ledger.append("alice", [Posting(EntryType.PURCHASE, 1_000)], effect_key="buy")
    ledger.append("alice", [Posting(EntryType.BONUS, 100)], effect_key="bonus")
    for day, (service, amount) in enumerate([("chat", 30), ("search", 20), ("chat", 50)]):
        clock.now = NOW + day * DAY
        ledger.append("alice", [Posting(EntryType.USAGE, -amount, service=service)], f"u{day}")
    return ledger, clock


def test_the_balance_is_the_ledger_head_with_the_default_threshold() -> None:
    ledger, _ = spending_account()
    balance = read_balance(MemoryAccounts(ledger), "alice")
    assert (balance.balance, balance.available) == (1_000, 1_000)
    assert balance.low_balance_threshold == DEFAULT_LOW_BALANCE_THRESHOLD


def test_an_account_without_entries_reads_as_zero() -> None:
    balance = read_balance(MemoryAccounts(MemoryLedger()), "nobody")
    assert (balance.balance, balance.held, balance.available) == (0, 0, 0)


def test_the_account_carries_lifetime_totals_and_the_users_own_threshold() -> None:
    ledger, _ = spending_account()
    accounts = MemoryAccounts(ledger)
    account = update_low_balance_threshold(accounts, "alice", 250)

    assert account.balance.low_balance_threshold == 250
    assert account.totals[EntryType.PURCHASE] == 1_000
    assert account.totals[EntryType.USAGE] == -100
    assert read_account(accounts, "alice").balance.low_balance_threshold == 250


@pytest.mark.parametrize("threshold", [-1, 100_000_001])
def test_a_threshold_out_of_range_is_refused_and_nothing_is_stored(threshold: int) -> None:
    accounts = MemoryAccounts(MemoryLedger())
    with pytest.raises(InvalidRequest) as refused:
        update_low_balance_threshold(accounts, "alice", threshold)
    assert list(refused.value.details["fields"]) == ["low_balance_threshold"]
    assert accounts.settings("alice") == {}


def test_history_is_newest_first_filtered_and_paged() -> None:
    ledger, _ = spending_account()
    first = history(ledger, "alice", limit=2, cursor=None, entry_type=None, since=None, until=None)
    rest = history(
        ledger, "alice", limit=10, cursor=first.next_cursor, entry_type=None, since=None, until=None
    )
    assert [e.seq for e in first.entries + rest.entries] == [5, 4, 3, 2, 1]
    assert rest.next_cursor is None
    usage = history(
        ledger, "alice", limit=10, cursor=None, entry_type=EntryType.USAGE, since=NOW + DAY,
        until=None,
    )  # fmt: skip
    assert [e.amount for e in usage.entries] == [-50, -20]


def test_a_range_that_ends_before_it_starts_names_the_field() -> None:
    with pytest.raises(InvalidRequest) as refused:
        history(
            MemoryLedger(), "alice", limit=1, cursor=None, entry_type=None, since=NOW, until=NOW
        )
    assert list(refused.value.details["fields"]) == ["to"]


def test_the_usage_summary_adds_up_per_service_and_per_day() -> None:
    ledger, _ = spending_account()
    by_service = usage_summary(ledger, "alice", GroupBy.SERVICE, None, None)
    assert [(g.key, g.amount, g.count) for g in by_service] == [("chat", 80, 2), ("search", 20, 1)]
    by_day = usage_summary(ledger, "alice", GroupBy.DAY, NOW + DAY, None)
    assert [(g.key, g.amount) for g in by_day] == [("2030-01-02", 20), ("2030-01-03", 50)]


def test_stored_packages_are_sold_cheapest_first_and_defaults_otherwise() -> None:
    stored = MemoryPackages(CreditPackage("big", "Big", 900_00), CreditPackage("s", "S", 50_00))
    assert [p.id for p in packages_on_sale(stored)] == ["s", "big"]
    assert packages_on_sale(MemoryPackages()) == list(DEFAULT_PACKAGES)


def test_a_device_registers_once_per_token_and_only_the_newest_are_kept() -> None:
    devices = MemoryDevices()
    for n in range(MAX_DEVICES_PER_USER + 2):
        register_device(devices, "alice", f"token-{n}", Platform.ANDROID, NOW)
    register_device(devices, "alice", f"token-{MAX_DEVICES_PER_USER + 1}", Platform.IOS, NOW)
    kept = devices.devices["alice"]
    assert len(kept) == MAX_DEVICES_PER_USER
    assert kept[-1].platform is Platform.IOS


@pytest.mark.parametrize("token", ["", "   ", "has space", "x" * 5000])
def test_a_token_that_cannot_be_an_fcm_token_is_refused(token: str) -> None:
    devices = MemoryDevices()
    with pytest.raises(InvalidRequest) as refused:
        register_device(devices, "alice", token, Platform.WEB, NOW)
    assert list(refused.value.details["fields"]) == ["token"]
    assert devices.devices == {}
