"""Payments for credit orders (seed 000): Razorpay checkout verification and order status."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from functions.wire import OrderJson, order_json
from shared.ids import DOCUMENT_ID_PATTERN
from shared.purchases.orders import owned_order

ProviderId = Field(min_length=1, max_length=64)


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    razorpay_order_id: StrictStr = ProviderId
    razorpay_payment_id: StrictStr = ProviderId
    razorpay_signature: StrictStr = Field(min_length=1, max_length=256)


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)


class VerifiedJson(TypedDict):
    order_id: str
    status: Literal["paid"]
    credits_granted: int
    balance: int


@endpoint(body=VerifyBody, response=VerifiedJson)
def payments_verify(call: Call) -> Reply:
    body = call.body(VerifyBody)
    grant = call.services.razorpay_purchases.verify_razorpay(
        call.user.uid, body.razorpay_order_id, body.razorpay_payment_id, body.razorpay_signature
    )
    verified: VerifiedJson = {
        "order_id": grant.order_id,
        "status": "paid",
        "credits_granted": grant.credits_granted,
        "balance": grant.balance,
    }
    return Reply(verified)


@endpoint(query=StatusQuery, response=OrderJson)
def payments_status(call: Call) -> Reply:
    query = call.query(StatusQuery)
    return Reply(order_json(owned_order(call.services.orders, call.user.uid, query.order_id)))
