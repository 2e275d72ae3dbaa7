"""The balance projection on fakes: brought up to the head, never back, however delivered."""

from __future__ import annotations

import pytest

from shared.accounts.projection import ProjectionBehind, sync_projection
from shared.ledger.entries import EntryType, LedgerEntry, Posting
from tests.unit.fakes import MemoryLedger, MemoryProjections


def account() -> tuple[MemoryLedger, list[LedgerEntry]]:
    ledger = MemoryLedger()
    ledger.append("alice", [Posting(EntryType.PURCHASE, 1_000)], effect_key="buy")
    ledger.append("alice", [Posting(EntryType.BONUS, 100)], effect_key="bonus")
    ledger.append("alice", [Posting(EntryType.USAGE, -300, service="chat")], effect_key="use")
    return ledger, ledger.of("alice")


def test_any_entrys_event_brings_the_projection_to_the_head_with_lifetime_totals() -> None:
    ledger, entries = account()
    store = MemoryProjections(ledger)

    assert sync_projection(store, entries[0]) == 3  # an early event projects the current head
    projection = store.stored["alice"]
    assert (projection.balance, projection.available) == (800, 800)
    assert (projection.totals.purchased, projection.totals.bonus, projection.totals.used) == (
        1_000,
        100,
        300,
    )


def test_redelivered_and_out_of_order_events_write_nothing_more() -> None:
    ledger, entries = account()
    store = MemoryProjections(ledger)
    for entry in [entries[2], entries[0], entries[1], entries[2]]:
        assert sync_projection(store, entry) == 3
    assert store.writes == 1


def test_an_entry_the_ledger_does_not_show_yet_is_retried_later() -> None:
    _, entries = account()
    store = MemoryProjections(MemoryLedger())  # a read that lags the write
    with pytest.raises(ProjectionBehind):
        sync_projection(store, entries[2])
    assert store.stored == {}
