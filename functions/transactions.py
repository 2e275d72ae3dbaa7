"""Transactions (seed 000): the caller's ledger entries and usage summary."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from functions.grant_json import DrawJson, draw_json
from functions.http import Call, Reply, endpoint
from functions.params import ListQuery, UtcDatetime
from shared.accounts.history import GroupBy, history, usage_summary
from shared.ledger.entries import EntryType, LedgerEntry
from shared.ledger.store import LedgerStore

# Literals rather than the enums, so the OpenAPI query parameters carry their values inline.
EntryTypeName = Literal[
    "purchase",
    "bonus",
    "usage",
    "refund",
    "refund_reversal",
    "grant",
    "adjustment",
    "hold",
    "hold_capture",
    "hold_release",
    "expiry",
    "void",
]


class TransactionsQuery(ListQuery):
    type: EntryTypeName | None = None
    since: UtcDatetime | None = Field(default=None, alias="from")
    until: UtcDatetime | None = Field(default=None, alias="to")


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_by: Literal["service", "day"] = "service"
    since: UtcDatetime | None = Field(default=None, alias="from")
    until: UtcDatetime | None = Field(default=None, alias="to")


class EntryJson(TypedDict):
    id: str
    seq: int
    type: EntryType
    amount: int
    balance_after: int
    held_after: int
    created_at: datetime
    description: str
    service: str | None
    actor: str | None
    source: dict[str, str]
    draws: list[DrawJson]  # the grants this entry drew from (negative) or added to (positive)


class EntryPage(TypedDict):
    data: list[EntryJson]
    next_cursor: str | None


class UsageGroupJson(TypedDict):
    key: str
    amount: int
    count: int


class UsageSummaryJson(TypedDict):
    data: list[UsageGroupJson]
    total: int
    group_by: GroupBy


def entry_json(entry: LedgerEntry) -> EntryJson:
    return {
        "id": entry.id,
        "seq": entry.seq,
        "type": entry.type,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "held_after": entry.held_after,
        "created_at": entry.created_at,
        "description": entry.description,
        "service": entry.service,
        "actor": entry.actor,
        "source": dict(entry.source),
        "draws": [draw_json(d) for d in entry.draws],
    }


def entry_page(ledger: LedgerStore, user_id: str, q: TransactionsQuery) -> EntryPage:
    """One page of ``user_id``'s ledger entries, as the query asks (the user's, or an admin's)."""
    page = history(
        ledger,
        user_id,
        limit=q.limit,
        cursor=q.cursor,
        entry_type=EntryType(q.type) if q.type else None,
        since=q.since,
        until=q.until,
    )
    return {"data": [entry_json(e) for e in page.entries], "next_cursor": page.next_cursor}


@endpoint(query=TransactionsQuery, response=EntryPage)
def transactions_list(call: Call) -> Reply:
    query = call.query(TransactionsQuery)
    return Reply(entry_page(call.services.ledger, call.user.uid, query))


@endpoint(query=UsageQuery, response=UsageSummaryJson)
def transactions_usage(call: Call) -> Reply:
    q = call.query(UsageQuery)
    call.limit_rate("usage_summary")  # each summary may read up to MAX_SUMMARY_ENTRIES
    group_by = GroupBy(q.group_by)
    groups = usage_summary(call.services.ledger, call.user.uid, group_by, q.since, q.until)
    summary: UsageSummaryJson = {
        "data": [{"key": g.key, "amount": g.amount, "count": g.count} for g in groups],
        "total": sum(g.amount for g in groups),
        "group_by": group_by,
    }
    return Reply(summary)
