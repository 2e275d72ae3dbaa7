"""Reading the ledger as a user: history filters and the usage summary (seed 000)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.errors import invalid_field
from shared.ledger.entries import EntryType, LedgerEntry
from shared.ledger.store import HistoryPage, LedgerStore

USAGE_TYPES = (EntryType.USAGE, EntryType.HOLD_CAPTURE)
# A summary reads at most this many entries; a longer range must be narrowed with from/to.
MAX_SUMMARY_ENTRIES = 10_000
SUMMARY_PAGE = 500


class GroupBy(StrEnum):
    SERVICE = "service"
    DAY = "day"


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise invalid_field("to", "must be later than from")


def history(
    ledger: LedgerStore,
    user_id: str,
    *,
    limit: int,
    cursor: str | None,
    entry_type: EntryType | None,
    since: datetime | None,
    until: datetime | None,
) -> HistoryPage:
    """Return the user's entries newest first, filtered by type and time range."""
    check_range(since, until)
    return ledger.history(user_id, limit, cursor, entry_type, since=since, until=until)


@dataclass(frozen=True, slots=True)
class UsageGroup:
    key: str
    amount: int
    count: int


def usage_summary(
    ledger: LedgerStore,
    user_id: str,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
) -> list[UsageGroup]:
    """Credits used (positive units) and entry counts, per service or per UTC day."""
    check_range(since, until)
    amounts: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    read = 0
    for entry_type in USAGE_TYPES:
        cursor: str | None = None
        while True:
            # Never ask for more than one entry past the bound: the call's cost is the bound.
            size = min(SUMMARY_PAGE, MAX_SUMMARY_ENTRIES + 1 - read)
            page = ledger.history(user_id, size, cursor, entry_type, since=since, until=until)
            for entry in page.entries:
                if group_by is GroupBy.SERVICE:
                    key = entry.service or "unknown"
                else:
                    key = entry.created_at.date().isoformat()
                amounts[key] += -entry.amount
                counts[key] += _events(entry)
            read += len(page.entries)
            if read > MAX_SUMMARY_ENTRIES:
                raise invalid_field("from", "range too long to summarise; narrow from/to")
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return [UsageGroup(key, amounts[key], counts[key]) for key in sorted(amounts)]


def _events(entry: LedgerEntry) -> int:
    """Usage events an entry charged: a budget's capture names how many (see usage.holds)."""
    count = entry.source.get("events", "1")
    return int(count) if count.isdigit() else 1
