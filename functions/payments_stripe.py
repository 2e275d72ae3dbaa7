"""Card payments via Stripe (seed 004): take a payment, read it, verify it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from functions.http import Call, Reply, endpoint
from shared.card_payments import owned_payment, process_payment, verify_payment
from shared.payments import RESERVED_METADATA_KEYS, PaymentRequest

PAYMENT_INTENT_ID = r"^pi_[A-Za-z0-9_]{1,250}$"


class PaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str = Field(min_length=3, max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    metadata: dict[str, str] = Field(
        default_factory=dict,
        description="Sent to Stripe with the PaymentIntent; at most 20 keys. The keys the "
        f"service itself uses ({', '.join(sorted(RESERVED_METADATA_KEYS))}) are refused (400).",
    )
    customer_email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )


class PaymentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_intent_id: str = Field(pattern=PAYMENT_INTENT_ID)


@endpoint(body=PaymentBody)
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
    return Reply(payment.to_json())


@endpoint
def stripe_payment_get(call: Call) -> Reply:
    payment_intent_id = call.path_param(
        "payment_intent_id", PAYMENT_INTENT_ID, "must be a PaymentIntent id (pi_...)"
    )
    payment = owned_payment(call.services.payments, payment_intent_id, call.user.uid)
    return Reply(payment.to_json())


@endpoint(body=PaymentRef)
def stripe_payment_verify(call: Call) -> Reply:
    ref = call.body(PaymentRef)
    svc = call.services
    result = verify_payment(svc.payment_gateway, svc.payments, ref.payment_intent_id, call.user.uid)
    return Reply(result.to_json())
