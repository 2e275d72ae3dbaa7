"""Bad input whose answer comes from a real provider or a Firestore adapter (the rest of the
bad-input matrix runs in process: tests/unit/test_http_bad_input.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import User

pytestmark = pytest.mark.stack

CARD_PAYMENT = {"amount": 1_000, "currency": "sgd", "payment_method": "pm_card_visa"}


def test_a_signed_stripe_event_naming_an_unstorable_credit_order_is_no_credit_order(
    stack: Stack, gateway: str
) -> None:
    """A signed event whose metadata names a credit order id Firestore cannot hold (made
    elsewhere: our API refuses such metadata) is no credit order: not a 500."""
    event = {
        "id": "evt_bad_metadata_1", "object": "event", "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_bad_metadata_1", "object": "payment_intent",
                            "amount": 1000, "currency": "sgd", "status": "succeeded",
                            "metadata": {"credit_order_id": "a/b"}}},
    }  # fmt: skip
    raw = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(
        stack.stripe_webhook_secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256
    ).hexdigest()
    hook = requests.post(
        f"{gateway}/api/webhook",
        data=raw,
        headers={"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert hook.status_code == 200, hook.text


def test_an_unknown_payment_method_is_the_clients_400_not_a_502(gateway: str, user: User) -> None:
    body: dict[str, Any] = {**CARD_PAYMENT, "payment_method": "pm_no_such_method_123"}
    response = requests.post(
        f"{gateway}/api/payment/process", json=body, headers=user.headers, timeout=60
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "payment_method" in error["details"]["fields"]


def test_history_cursors_and_times_firestore_cannot_hold_are_400(gateway: str, user: User) -> None:
    """A cursor like '²' or beyond int64, or a time outside years 1-9999 in UTC, was a 500.

    The Firestore ledger adapter reads cursors and times: the stack is the lowest layer here.
    """
    cases = [
        ("/api/v1/transactions?cursor=abc", "cursor"),
        ("/api/v1/transactions?cursor=%C2%B2", "cursor"),
        ("/api/v1/transactions?cursor=99999999999999999999", "cursor"),
        ("/api/v1/transactions?from=0001-01-01T00:00:00%2B14:00", "from"),
        ("/api/v1/transactions/usage?to=9999-12-31T23:59:59-14:00", "to"),
    ]
    for path, field in cases:
        answer = requests.get(f"{gateway}{path}", headers=user.headers, timeout=10)
        assert answer.status_code == 400, (path, answer.text)
        assert field in answer.json()["error"]["details"]["fields"], (path, answer.text)
