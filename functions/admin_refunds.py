"""Admin refunds of credit purchases through their provider (custom claim ``admin: true``).

A module of its own, apart from grants: it is the only admin endpoint that reaches Razorpay and
Stripe, so only its function is deployed with their secrets.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.accounts.admin_credits import MAX_REASON_LENGTH
from shared.payments.providers import RefundStatus
from shared.purchases.refunds import OrderRefund, OrderRefundRequest, refund_credit_order


class OrderRefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = Field(
        default=None,
        gt=0,
        description="Minor units of the order's currency, at most what is still refundable; "
        "omitted: all of it",
    )
    reason: StrictStr = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    payment_id: StrictStr | None = Field(
        default=None,
        max_length=64,
        description="A second payment of the order (listed under its `second_payments`) to "
        "refund in full instead, without touching credits; omitted: the payment that paid it",
    )


class OrderRefundJson(TypedDict):
    order_id: str
    provider: str
    provider_refund_id: str
    amount: int
    currency: str
    status: RefundStatus
    credits_taken_back: int
    reason: str


def order_refund_json(refund: OrderRefund) -> OrderRefundJson:
    return {
        "order_id": refund.order_id,
        "provider": refund.provider,
        "provider_refund_id": refund.refund_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "credits_taken_back": refund.credits_taken_back,
        "reason": refund.reason,
    }


@endpoint(body=OrderRefundBody, response=OrderRefundJson)
def admin_order_refund(call: Call) -> Reply:
    order_id = call.path_param("order_id")
    body = call.body(OrderRefundBody)
    svc = call.services
    refund = refund_credit_order(
        svc.purchases,
        svc.order_refunds,
        OrderRefundRequest(order_id, body.reason, body.amount, body.payment_id),
        call.user.uid,
        call.request_key,
    )
    return Reply(order_refund_json(refund), 201 if refund.made_now else 200)
