"""Stripe's webhook (seed 004): signature on the raw body, dedupe on the event id, forward only."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint
from shared.stripe_events import handle_event


@endpoint
def stripe_webhook(call: Call) -> Reply:
    svc = call.services
    event = svc.payment_gateway.verify_event(
        call.raw_body(), call.request.headers.get("Stripe-Signature")
    )
    outcome = handle_event(svc.payments, event, svc.credit_order_intent, svc.credit_order_refunded)
    return Reply(outcome.to_json())
