"""Payment provider webhooks: authenticated by the provider's signature over the raw body."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint


class RazorpayReceiptJson(TypedDict):
    received: Literal[True]
    event_id: str
    event: str
    outcome: str
    duplicate: bool


@endpoint(response=RazorpayReceiptJson)
def webhooks_razorpay(call: Call) -> Reply:
    outcome = call.services.razorpay_webhooks.handle(
        call.raw_body(),
        call.request.headers.get("X-Razorpay-Signature", ""),
        call.request.headers.get("x-razorpay-event-id"),
    )
    receipt: RazorpayReceiptJson = {
        "received": True,
        "event_id": outcome.event_id,
        "event": outcome.event,
        "outcome": outcome.outcome,
        "duplicate": outcome.duplicate,
    }
    return Reply(receipt)
