"""Card payments via Stripe (seed 004): take a payment, read it, verify it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.payments.card_payments import (
    Verification,
    owned_payment,
    process_payment,
    verify_payment,
)
from shared.payments.records import (
    MAX_METADATA_KEYS,
    MAX_PAYMENT_AMOUNT,
    RESERVED_METADATA_KEYS,
    Payment,
    PaymentRequest,
    PaymentStatus,
)

PAYMENT_INTENT_ID = r"^pi_[A-Za-z0-9_]{1,250}$"


class PaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounds stated for clients; the domain enforces them (and the currency's own minimum).
    amount: StrictInt = Field(
        json_schema_extra={"minimum": 1, "maximum": MAX_PAYMENT_AMOUNT},
        description="Minor units; at least the currency's minimum charge",
    )
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str = Field(min_length=3, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    metadata: dict[str, str] = Field(
        default_factory=dict,
        json_schema_extra={"maxProperties": MAX_METADATA_KEYS},
        description=f"Sent to Stripe with the PaymentIntent; at most {MAX_METADATA_KEYS} keys. "
        "The keys the "
        f"service itself uses ({', '.join(sorted(RESERVED_METADATA_KEYS))}) are refused (400).",
    )
    customer_email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )


class PaymentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_intent_id: str = Field(pattern=PAYMENT_INTENT_ID)


class PaymentJson(TypedDict):
    payment_intent_id: str
    status: PaymentStatus
    client_secret: str | None
    requires_action: bool
    amount: int
    currency: str
    amount_refunded: int
    description: str | None
    metadata: dict[str, str]
    customer_email: str | None
    decline_code: str | None
    failure_message: str | None
    disputes: dict[str, dict[str, Any]]
    created_at: datetime | None
    updated_at: datetime | None


class VerifiedPaymentJson(PaymentJson):
    verified: bool
    provider_status: PaymentStatus


def payment_json(payment: Payment) -> PaymentJson:
    return {
        "payment_intent_id": payment.payment_intent_id,
        "status": payment.status,
        "client_secret": payment.client_secret,
        "requires_action": payment.requires_action,
        "amount": payment.amount,
        "currency": payment.currency,
        "amount_refunded": payment.amount_refunded,
        "description": payment.description,
        "metadata": dict(payment.metadata),
        "customer_email": payment.customer_email,
        "decline_code": payment.decline_code,
        "failure_message": payment.failure_message,
        "disputes": {k: dict(v) for k, v in payment.disputes.items()},
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }


def verification_json(result: Verification) -> VerifiedPaymentJson:
    return {
        **payment_json(result.payment),
        "verified": result.verified,
        "provider_status": result.provider_status,
    }


@endpoint(body=PaymentBody, response=PaymentJson)
def stripe_payment_process(call: Call) -> Reply:
    body = call.body(PaymentBody)
    call.limit_rate("payment")  # card testing: every try costs a Stripe call, so each counts
    request = PaymentRequest(
        amount=body.amount,
        currency=body.currency.lower(),
        payment_method=body.payment_method,
        description=body.description,
        metadata=body.metadata,
        customer_email=body.customer_email,
    )
    svc = call.services
    payment = process_payment(
        svc.payment_gateway, svc.payments, request, call.user.uid, call.request_key
    )
    return Reply(payment_json(payment))


@endpoint(response=PaymentJson)
def stripe_payment_get(call: Call) -> Reply:
    payment_intent_id = call.path_param(
        "payment_intent_id", PAYMENT_INTENT_ID, "must be a PaymentIntent id (pi_...)"
    )
    payment = owned_payment(call.services.payments, payment_intent_id, call.user.uid)
    return Reply(payment_json(payment))


@endpoint(body=PaymentRef, response=VerifiedPaymentJson)
def stripe_payment_verify(call: Call) -> Reply:
    ref = call.body(PaymentRef)
    svc = call.services
    result = verify_payment(svc.payment_gateway, svc.payments, ref.payment_intent_id, call.user.uid)
    return Reply(verification_json(result))
