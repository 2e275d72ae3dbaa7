"""Payment provider webhooks: authenticated by the provider's signature over the raw body."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint


@endpoint
def webhooks_razorpay(call: Call) -> Reply:
    outcome = call.services.razorpay_webhooks.handle(
        call.raw_body(),
        call.request.headers.get("X-Razorpay-Signature", ""),
        call.request.headers.get("x-razorpay-event-id"),
    )
    return Reply(outcome.to_json())
