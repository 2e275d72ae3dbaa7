"""Stripe's webhook (seed 004): signature on the raw body, dedupe on the event id, forward only."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.stripe_events import handle_event


class StripeReceiptJson(TypedDict):
    received: Literal[True]
    id: str
    type: str
    duplicate: bool
    handled: bool


@endpoint(response=StripeReceiptJson)
def stripe_webhook(call: Call) -> Reply:
    svc = call.services
    event = svc.payment_gateway.verify_event(
        call.raw_body(), call.request.headers.get("Stripe-Signature")
    )
    outcome = handle_event(svc.payments, event, svc.credit_order_intent, svc.credit_order_refunded)
    receipt: StripeReceiptJson = {
        "received": True,
        "id": outcome.event_id,
        "type": outcome.type,
        "duplicate": outcome.duplicate,
        "handled": outcome.handled,
    }
    return Reply(receipt)
