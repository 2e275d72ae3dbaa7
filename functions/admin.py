"""Admin endpoints: grant and adjust credits (custom claim ``admin: true``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from functions.http import Call, Reply, endpoint
from shared.admin_credits import change_credits
from shared.ids import DOCUMENT_ID_PATTERN


class CreditChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    amount: StrictInt
    reason: StrictStr = Field(min_length=1, max_length=500)


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
    )
    return Reply(change.to_json(), 200 if change.replayed else 201)


@endpoint(body=CreditChange)
def admin_credits_grant(call: Call) -> Reply:
    return _change(call, adjust=False)


@endpoint(body=CreditChange)
def admin_credits_adjust(call: Call) -> Reply:
    return _change(call, adjust=True)
