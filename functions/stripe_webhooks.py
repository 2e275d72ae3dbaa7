"""Stripe's webhook (seed 004): its adapter verifies and parses the raw body; applied once."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint


@endpoint
def stripe_webhook(call: Call) -> Reply:
    svc, headers = call.services, call.request.headers
    event = svc.payment_gateway.verify_event(
        call.raw_body(),
        headers.get("Stripe-Signature"),
    )
    return Reply(svc.stripe_webhooks.apply(event).to_json())
