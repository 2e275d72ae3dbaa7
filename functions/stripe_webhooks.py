"""Stripe's webhook (seed 004): its adapter verifies and parses the raw body; applied once."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint


class StripeReceiptJson(TypedDict):
    received: Literal[True]
    id: str
    type: str
    duplicate: bool
    handled: bool


@endpoint(response=StripeReceiptJson)
def stripe_webhook(call: Call) -> Reply:
    svc, headers = call.services, call.request.headers
    event = svc.payment_gateway.verify_event(
        call.raw_body(),
        headers.get("Stripe-Signature"),
    )
    outcome = svc.stripe_webhooks.apply(event)
    receipt: StripeReceiptJson = {
        "received": True,
        "id": outcome.event_id,
        "type": outcome.type,
        "duplicate": outcome.duplicate,
        "handled": outcome.handled,
    }
    return Reply(receipt)
