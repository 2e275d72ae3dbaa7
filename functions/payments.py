"""Payments for credit orders (seed 000): Razorpay checkout verification and order status."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from functions.http import Call, Reply, endpoint
from shared.ids import DOCUMENT_ID_PATTERN

ProviderId = Field(min_length=1, max_length=64)


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    razorpay_order_id: StrictStr = ProviderId
    razorpay_payment_id: StrictStr = ProviderId
    razorpay_signature: StrictStr = Field(min_length=1, max_length=256)


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)


@endpoint(body=VerifyBody)
def payments_verify(call: Call) -> Reply:
    body = call.body(VerifyBody)
    grant = call.services.purchases.verify_razorpay(
        call.user.uid, body.razorpay_order_id, body.razorpay_payment_id, body.razorpay_signature
    )
    return Reply(
        {
            "order_id": grant.order_id,
            "status": "paid",
            "credits_granted": grant.credits_granted,
            "balance": grant.balance,
        }
    )


@endpoint(query=StatusQuery)
def payments_status(call: Call) -> Reply:
    query = call.query(StatusQuery)
    order = call.services.purchases.order_of(call.user.uid, query.order_id)
    return Reply(order.to_json())
