"""Refunds of Stripe payments (seed 004): full or partial, read, verify."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.payments.providers import RefundStatus
from shared.payments.refunds import (
    Refund,
    RefundRequest,
    owned_refund,
    refund_payment,
    verify_refund,
)

REFUND_ID = r"^(re|pyr)_[A-Za-z0-9_]{1,250}$"


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_intent_id: str = Field(pattern=r"^pi_[A-Za-z0-9_]{1,250}$")
    amount: StrictInt | None = Field(default=None, gt=0)
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)


class RefundRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: str = Field(pattern=REFUND_ID)


class RefundJson(TypedDict):
    refund_id: str
    status: RefundStatus
    amount: int
    currency: str
    payment_intent_id: str
    reason: str | None
    metadata: dict[str, str]
    created_at: datetime | None
    updated_at: datetime | None


class VerifiedRefundJson(RefundJson):
    verified: bool
    provider_status: RefundStatus


def refund_json(refund: Refund) -> RefundJson:
    return {
        "refund_id": refund.refund_id,
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "payment_intent_id": refund.payment_intent_id,
        "reason": refund.reason,
        "metadata": dict(refund.metadata),
        "created_at": refund.created_at,
        "updated_at": refund.updated_at,
    }


@endpoint(body=RefundBody, response=RefundJson)
def stripe_refund_process(call: Call) -> Reply:
    body = call.body(RefundBody)
    request = RefundRequest(body.payment_intent_id, body.amount, body.reason, body.metadata)
    svc = call.services
    refund = refund_payment(
        svc.payment_gateway, svc.payments, request, call.user.uid, call.request_key
    )
    return Reply(refund_json(refund))


@endpoint(response=RefundJson)
def stripe_refund_get(call: Call) -> Reply:
    refund_id = call.path_param("refund_id", REFUND_ID, "must be a Refund id (re_...)")
    return Reply(refund_json(owned_refund(call.services.payments, refund_id, call.user.uid)))


@endpoint(body=RefundRef, response=VerifiedRefundJson)
def stripe_refund_verify(call: Call) -> Reply:
    ref = call.body(RefundRef)
    svc = call.services
    refund, provider_status = verify_refund(
        svc.payment_gateway, svc.payments, ref.refund_id, call.user.uid
    )
    verified: VerifiedRefundJson = {
        **refund_json(refund),
        "verified": refund.status is provider_status,
        "provider_status": provider_status,
    }
    return Reply(verified)
