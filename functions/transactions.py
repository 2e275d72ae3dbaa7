"""Transactions (seed 000): the caller's ledger entries and usage summary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.http import Call, Reply, endpoint
from functions.params import ListQuery, UtcDatetime
from shared.ledger import EntryType
from shared.transactions import GroupBy, entry_to_json, history, usage_summary

# Literals rather than the enums, so the OpenAPI query parameters carry their values inline.
EntryTypeName = Literal[
    "purchase",
    "bonus",
    "usage",
    "refund",
    "grant",
    "adjustment",
    "hold",
    "hold_capture",
    "hold_release",
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


@endpoint(query=TransactionsQuery)
def transactions_list(call: Call) -> Reply:
    q = call.query(TransactionsQuery)
    page = history(
        call.services.ledger,
        call.user.uid,
        limit=q.limit,
        cursor=q.cursor,
        entry_type=EntryType(q.type) if q.type else None,
        since=q.since,
        until=q.until,
    )
    return Reply(
        {"data": [entry_to_json(e) for e in page.entries], "next_cursor": page.next_cursor}
    )


@endpoint(query=UsageQuery)
def transactions_usage(call: Call) -> Reply:
    q = call.query(UsageQuery)
    call.limit_rate("usage_summary")  # each summary may read up to MAX_SUMMARY_ENTRIES
    group_by = GroupBy(q.group_by)
    groups = usage_summary(call.services.ledger, call.user.uid, group_by, q.since, q.until)
    return Reply(
        {
            "data": [{"key": g.key, "amount": g.amount, "count": g.count} for g in groups],
            "total": sum(g.amount for g in groups),
            "group_by": group_by.value,
        }
    )
