"""Razorpay's webhook: its adapter verifies and parses the raw body, the domain applies it once."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint


@endpoint
def webhooks_razorpay(call: Call) -> Reply:
    svc, headers = call.services, call.request.headers
    event = svc.razorpay.verify_event(
        call.raw_body(),
        headers.get("X-Razorpay-Signature"),
        headers.get("x-razorpay-event-id"),
    )
    return Reply(svc.razorpay_webhooks.apply(event).to_json())
