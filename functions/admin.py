"""Admin endpoints: grant and adjust credits (custom claim ``admin: true``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from functions.params import UtcDatetime
from shared.accounts.admin_credits import (
    MAX_ADMIN_AMOUNT,
    MAX_REASON_LENGTH,
    AdminChange,
    change_credits,
)
from shared.errors import invalid_field
from shared.ids import DOCUMENT_ID_PATTERN
from shared.ledger.entries import EntryType
from shared.ledger.grants import DEFAULT_PRIORITY, MAX_PRIORITY, GrantCategory, GrantTerms


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    # Bounds stated for clients; the domain enforces them (a grant is positive, neither is zero).
    amount: StrictInt = Field(
        json_schema_extra={"minimum": -MAX_ADMIN_AMOUNT, "maximum": MAX_ADMIN_AMOUNT},
        description="Credit units, not zero; a grant is positive, an adjustment signed",
    )
    reason: StrictStr = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    # The grant the credits go to (credits coming in only): see docs/ledger.md, "Credit grants".
    category: GrantCategory | None = Field(default=None, description="Default promotional")
    priority: StrictInt = Field(default=DEFAULT_PRIORITY, ge=0, le=MAX_PRIORITY)
    expires_at: UtcDatetime | None = Field(default=None, description="Default: never")

    def grant(self) -> GrantTerms | None:
        fields = self.model_fields_set & {"category", "priority", "expires_at"}
        if not fields:
            return None
        if self.amount < 0:
            raise invalid_field(min(fields), "grant terms apply to credits coming in only")
        category = self.category or GrantCategory.PROMOTIONAL
        return GrantTerms(category, self.priority, self.expires_at)


class ChangeJson(TypedDict):
    transaction_id: str
    user_id: str
    type: EntryType
    amount: int
    balance_after: int
    reason: str
    actor: str | None
    created_at: datetime


def change_json(change: AdminChange) -> ChangeJson:
    entry = change.entry
    return {
        "transaction_id": entry.id,
        "user_id": entry.user_id,
        "type": entry.type,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "reason": entry.description,
        "actor": entry.actor,
        "created_at": entry.created_at,
    }


def _change(call: Call, adjust: bool) -> Reply:
    body = call.body(CreditChange)
    change = change_credits(
        call.services.ledger,
        call.user.uid,
        body.user_id,
        amount=body.amount,
        reason=body.reason,
        adjust=adjust,
        request_key=call.request.headers.get("Idempotency-Key"),
        grant=body.grant(),
    )
    return Reply(change_json(change), 200 if change.replayed else 201)


@endpoint(body=CreditChange, response=ChangeJson)
def admin_credits_grant(call: Call) -> Reply:
    return _change(call, adjust=False)


@endpoint(body=CreditChange, response=ChangeJson)
def admin_credits_adjust(call: Call) -> Reply:
    return _change(call, adjust=True)
