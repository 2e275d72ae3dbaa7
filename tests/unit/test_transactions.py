"""The usage summary reads a bounded number of entries per call, whatever the range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.accounts.history import MAX_SUMMARY_ENTRIES, GroupBy, usage_summary
from shared.errors import InvalidRequest
from shared.ledger.entries import EntryType, LedgerEntry
from shared.ledger.store import HistoryPage, LedgerStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class EndlessUsage(LedgerStore):
    """An account with more usage than any summary may read; counts what it hands out."""

    def __init__(self) -> None:
        self.served = 0

    def history(self, user_id: str, limit: int, *args: Any, **kwargs: Any) -> HistoryPage:
        self.served += limit
        entry = LedgerEntry(user_id, 1, EntryType.USAGE, -1, 0, 0, NOW, service="ai")
        return HistoryPage([entry] * limit, next_cursor="more")

    def append(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def append_batch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def head(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def effect(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def accounts_due_to_expire(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_a_usage_summary_reads_at_most_its_bound_then_asks_for_a_narrower_range() -> None:
    ledger = EndlessUsage()
    with pytest.raises(InvalidRequest) as error:
        usage_summary(ledger, "u1", GroupBy.SERVICE, None, None)
    assert "from" in error.value.details["fields"]
    assert ledger.served <= MAX_SUMMARY_ENTRIES + 1
