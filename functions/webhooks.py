"""Razorpay's webhook: its adapter verifies and parses the raw body, the domain applies it once."""

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
    svc, headers = call.services, call.request.headers
    event = svc.razorpay.verify_event(
        call.raw_body(),
        headers.get("X-Razorpay-Signature"),
        headers.get("x-razorpay-event-id"),
    )
    outcome = svc.razorpay_webhooks.apply(event)
    receipt: RazorpayReceiptJson = {
        "received": True,
        "event_id": outcome.event_id,
        "event": outcome.event,
        "outcome": outcome.outcome,
        "duplicate": outcome.duplicate,
    }
    return Reply(receipt)
