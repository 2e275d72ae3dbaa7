"""State only moves forward, whatever order the providers' events arrive in: refunds, disputes
(Stripe and Razorpay) and the notifications they send; a delivered notification stays delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_OK, get_payment, pay, payment_method, refund
from tests.e2e.test_stripe_credit_purchases import purchase
from tests.e2e.test_stripe_webhooks import event, intent, pending_3ds_payment, send

pytestmark = pytest.mark.stack


def paid_payment(gateway: str, user: User, stripe_client: Any) -> str:
    response = pay(gateway, user, payment_method(stripe_client, CARD_OK))
    assert response.status_code == 200, response.text
    return str(response.json()["payment_intent_id"])


def refunded_charge(pi: str, refund_id: str, status: str) -> dict[str, Any]:
    """A ``charge.refunded`` object that lists its refund (as older API versions send it)."""
    listed = {"id": refund_id, "object": "refund", "payment_intent": pi, "amount": 300,
              "currency": "sgd", "status": status}  # fmt: skip
    return {"id": f"ch_{uuid.uuid4().hex[:12]}", "object": "charge", "payment_intent": pi,
            "amount": 1000, "amount_refunded": 300, "currency": "sgd", "metadata": {},
            "refunds": {"object": "list", "data": [listed]}}  # fmt: skip


def get_refund(gateway: str, user: User, refund_id: str) -> dict[str, Any]:
    response = requests.get(f"{gateway}/api/refund/{refund_id}", headers=user.headers, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_document(reference: Any, check: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        snapshot = reference.get()
        data: dict[str, Any] = snapshot.to_dict() or {}
        if check(data):
            return data
        assert time.monotonic() < deadline, f"{reference.path}: never reached the state: {data}"
        time.sleep(0.2)


def test_a_late_pending_refund_event_never_undoes_a_succeeded_refund(
    stack: Stack, gateway: str, user: User, stripe_client: Any
) -> None:
    pi = paid_payment(gateway, user, stripe_client)
    made = refund(gateway, user, pi, 300).json()
    assert made["status"] == "succeeded"
    late = event("charge.refunded", refunded_charge(pi, made["refund_id"], "pending"))
    assert send(gateway, late, stack.stripe_webhook_secret).status_code == 200
    assert get_refund(gateway, user, made["refund_id"])["status"] == "succeeded"


def test_a_delivered_refund_notification_is_never_reset_to_pending(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = paid_payment(gateway, user, stripe_client)
    refund_id = refund(gateway, user, pi, 300).json()["refund_id"]
    notice = stack_firestore.collection("outbox").document(f"refund.succeeded.{refund_id}")
    delivered = wait_for_document(notice, lambda d: d.get("status") == "delivered")
    # Stripe's own word on the same refund (the webhook, then a verify) arrives afterwards.
    same = event("charge.refunded", refunded_charge(pi, refund_id, "succeeded"))
    assert send(gateway, same, stack.stripe_webhook_secret).status_code == 200
    verify = requests.post(
        f"{gateway}/api/refund/verify", json={"refund_id": refund_id}, headers=user.headers,
        timeout=10,
    )  # fmt: skip
    assert verify.status_code == 200, verify.text
    assert notice.get().to_dict() == delivered


def test_a_late_payment_failure_after_success_notifies_nothing(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = pending_3ds_payment(gateway, user, stripe_client)
    secret = stack.stripe_webhook_secret
    assert send(gateway, event("payment_intent.succeeded", intent(pi, "succeeded")), secret).ok
    failed = intent(pi, "requires_payment_method", last_payment_error={"code": "card_declined"})
    assert send(gateway, event("payment_intent.payment_failed", failed), secret).ok
    charge = {"id": "ch_late", "object": "charge", "payment_intent": pi, "failure_code": "x"}
    assert send(gateway, event("charge.failed", charge), secret).ok
    assert get_payment(gateway, user, pi)["status"] == "succeeded"
    outbox = stack_firestore.collection("outbox")
    assert outbox.document(f"payment.succeeded.{pi}").get().exists
    assert not outbox.document(f"payment.failed.{pi}").get().exists


def test_a_late_stripe_dispute_opening_never_reopens_a_closed_dispute(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = paid_payment(gateway, user, stripe_client)
    dispute_id = f"dp_{uuid.uuid4().hex[:12]}"
    dispute = {"id": dispute_id, "object": "dispute", "payment_intent": pi, "charge": "ch_1",
               "amount": 1000, "currency": "sgd", "reason": "fraudulent"}  # fmt: skip
    secret = stack.stripe_webhook_secret
    closed = event("charge.dispute.closed", {**dispute, "status": "won"})
    opened = event("charge.dispute.created", {**dispute, "status": "needs_response"})
    assert send(gateway, closed, secret).ok
    assert send(gateway, opened, secret).ok
    assert get_payment(gateway, user, pi)["disputes"][dispute_id]["status"] == "won"
    outbox = stack_firestore.collection("outbox")
    assert outbox.document(f"payment.dispute_closed.{dispute_id}.won").get().exists
    assert not outbox.document(f"payment.dispute_created.{dispute_id}.needs_response").get().exists


def send_razorpay(stack: Stack, name: str, payload: dict[str, Any]) -> requests.Response:
    """Sign and deliver one Razorpay event as Razorpay does (the sandbox sends no disputes)."""
    body = json.dumps({"entity": "event", "event": name, "payload": payload}).encode()
    signature = hmac.new(stack.razorpay_webhook_secret.encode(), body, hashlib.sha256)
    return requests.post(
        f"{stack.gateway_url}/api/v1/webhooks/razorpay",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature.hexdigest(),
            "x-razorpay-event-id": f"evt_{uuid.uuid4().hex[:14]}",
        },
        timeout=10,
    )


def test_a_late_razorpay_dispute_opening_never_reopens_a_closed_dispute(
    stack: Stack, gateway: str, user: User
) -> None:
    order = purchase(gateway, user, package_id="basic").json()
    payment = {"id": f"pay_{uuid.uuid4().hex[:14]}", "entity": "payment",
               "order_id": order["provider_order_id"], "amount": order["total"],
               "currency": "INR", "status": "captured"}  # fmt: skip
    dispute = {"id": f"disp_{uuid.uuid4().hex[:14]}", "entity": "dispute",
               "payment_id": payment["id"], "amount": order["total"], "currency": "INR",
               "reason_code": "chargeback"}  # fmt: skip

    def dispute_event(name: str, status: str) -> requests.Response:
        entities = {"payment": payment, "dispute": {**dispute, "status": status}}
        return send_razorpay(stack, name, {k: {"entity": v} for k, v in entities.items()})

    assert dispute_event("payment.dispute.won", "won").status_code == 200
    assert dispute_event("payment.dispute.created", "open").status_code == 200
    orders = requests.get(f"{gateway}/api/v1/credits/orders", headers=user.headers, timeout=10)
    disputes = orders.json()["data"][0]["disputes"]
    assert disputes[dispute["id"]]["status"] == "won"
