"""Stripe webhooks over HTTP: signature checks, dedupe, forward-only state, disputes."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import stripe

from devstack.stack import Stack
from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_3DS, CARD_OK, get_payment, pay, payment_method

pytestmark = pytest.mark.stack


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    body = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def intent(pi: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": pi, "object": "payment_intent", "amount": 1000, "currency": "sgd",
            "status": status, "metadata": {}, **extra}  # fmt: skip


def send(
    gateway: str, body: bytes, secret: str, timestamp: int | None = None, path: str = "/api/webhook"
) -> requests.Response:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return requests.post(
        f"{gateway}{path}",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=10,
    )


def pending_3ds_payment(gateway: str, user: User, stripe_client: Any) -> str:
    response = pay(gateway, user, payment_method(stripe_client, CARD_3DS))
    assert response.json()["status"] == "requires_action"
    return str(response.json()["payment_intent_id"])


def test_one_event_replayed_ten_times_concurrently_changes_state_once(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = pending_3ds_payment(gateway, user, stripe_client)
    body = event("payment_intent.succeeded", intent(pi, "succeeded"))
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(
            pool.map(lambda _: send(gateway, body, stack.stripe_webhook_secret), range(10))
        )
    assert [r.status_code for r in responses] == [200] * 10
    assert get_payment(gateway, user, pi)["status"] == "succeeded"
    transitions = stack_firestore.collection("payment_transitions").document(f"{pi}_succeeded")
    assert transitions.get().exists
    outbox = stack_firestore.collection("outbox").document(f"payment.succeeded.{pi}").get()
    assert outbox.exists and outbox.to_dict()["data"]["payment_intent_id"] == pi
    # One more replay, now sequential: reported as a duplicate.
    again = send(gateway, body, stack.stripe_webhook_secret)
    assert again.json()["duplicate"] is True


@pytest.mark.parametrize("attack", ["tampered-body", "wrong-secret", "too-old", "no-header"])
def test_bad_signatures_are_400_and_change_nothing(  # noqa: PLR0917 - pytest fixtures
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any, attack: str
) -> None:
    pi = pending_3ds_payment(gateway, user, stripe_client)
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    body = event("payment_intent.succeeded", intent(pi, "succeeded"), event_id)
    secret = stack.stripe_webhook_secret
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    if attack == "tampered-body":
        body = body.replace(b'"amount": 1000', b'"amount": 1')
    elif attack == "wrong-secret":
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_wrong")
    elif attack == "too-old":
        old = int(time.time()) - 301
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, old)
    headers = {"Content-Type": "application/json"}
    if attack != "no-header":
        headers["Stripe-Signature"] = header
    response = requests.post(f"{gateway}/api/webhook", data=body, headers=headers, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert get_payment(gateway, user, pi)["status"] == "requires_action"
    processed = stack_firestore.collection("webhook_events").document(f"stripe:{event_id}")
    assert not processed.get().exists


def test_processed_stripe_events_are_kept_in_the_one_processed_events_store(
    stack: Stack, gateway: str, stack_firestore: Any
) -> None:
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    body = event("customer.created", {"id": "cus_1", "object": "customer"}, event_id)
    assert send(gateway, body, stack.stripe_webhook_secret).json()["handled"] is False
    record = stack_firestore.collection("webhook_events").document(f"stripe:{event_id}").get()
    assert record.exists
    assert record.to_dict()["provider"] == "stripe"
    assert record.to_dict()["expires_at"] > record.to_dict()["processed_at"]
    assert send(gateway, body, stack.stripe_webhook_secret).json()["duplicate"] is True


def test_out_of_order_events_end_in_the_right_state(
    stack: Stack, gateway: str, user: User, stripe_client: Any
) -> None:
    pi = pending_3ds_payment(gateway, user, stripe_client)
    secret = stack.stripe_webhook_secret
    assert send(gateway, event("payment_intent.succeeded", intent(pi, "succeeded")), secret).ok
    # Late events from earlier in the payment's life never move it back.
    assert send(gateway, event("payment_intent.processing", intent(pi, "processing")), secret).ok
    failed = intent(pi, "requires_payment_method", last_payment_error={"code": "card_declined"})
    assert send(gateway, event("payment_intent.payment_failed", failed), secret).ok
    charge = {"id": "ch_x", "object": "charge", "payment_intent": pi, "failure_code": "x"}
    assert send(gateway, event("charge.failed", charge), secret).ok
    assert get_payment(gateway, user, pi)["status"] == "succeeded"


def test_the_alias_path_and_charge_events_advance_a_payment(
    stack: Stack, gateway: str, user: User, stripe_client: Any
) -> None:
    pi = pending_3ds_payment(gateway, user, stripe_client)
    charge = {"id": "ch_y", "object": "charge", "payment_intent": pi, "metadata": {}}
    response = send(
        gateway,
        event("charge.succeeded", charge),
        stack.stripe_webhook_secret,
        path="/api/v1/webhooks/stripe",
    )
    assert response.status_code == 200, response.text
    assert get_payment(gateway, user, pi)["status"] == "succeeded"


def test_disputes_are_recorded_on_the_payment(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": pi, "charge": "ch_1",
               "amount": 1000, "currency": "sgd", "reason": "fraudulent"}  # fmt: skip
    secret = stack.stripe_webhook_secret
    opened = {**dispute, "status": "needs_response"}
    assert send(gateway, event("charge.dispute.created", opened), secret).ok
    assert get_payment(gateway, user, pi)["disputes"]["dp_1"]["status"] == "needs_response"
    assert send(gateway, event("charge.dispute.closed", {**dispute, "status": "won"}), secret).ok
    payment = get_payment(gateway, user, pi)
    assert payment["disputes"]["dp_1"]["status"] == "won"
    assert payment["status"] == "succeeded"
    outbox = stack_firestore.collection("outbox")
    assert outbox.document("payment.dispute_created.dp_1.needs_response").get().exists
    assert outbox.document("payment.dispute_closed.dp_1.won").get().exists


def test_checkout_sessions_and_unknown_events_are_acknowledged(
    stack: Stack, gateway: str, stack_firestore: Any
) -> None:
    session = {"id": f"cs_{uuid.uuid4().hex[:10]}", "object": "checkout.session",
               "status": "expired", "payment_status": "unpaid"}  # fmt: skip
    secret = stack.stripe_webhook_secret
    response = send(gateway, event("checkout.session.expired", session), secret)
    assert response.status_code == 200
    stored = stack_firestore.collection("stripe_checkout_sessions").document(session["id"]).get()
    assert stored.to_dict()["last_event"] == "checkout.session.expired"
    other = send(gateway, event("customer.created", {"id": "cus_1", "object": "customer"}), secret)
    assert other.status_code == 200
    assert other.json()["handled"] is False
