"""Monitoring stays honest: every metric's filter counts lines the service really wrote.

The tests before the last one make each monitored event happen through the stack (so this file
alone proves every metric), including the rare ones a healthy suite never meets: an account
whose every write loses the race, a notification the event service keeps refusing, an order
past the give-up age. The last test reads every log the end-to-end suite's stacks wrote (the
session stack's and the private ones) and checks each metric of ``ops.metrics`` against them:
a filter that matches nothing fails, and so does a matched line that lacks a field the metric
extracts, or holds it with the wrong type.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import SCHEDULER_SERVICE_EMAIL, Stack
from ops.log_filter import payloads
from ops.metrics import report, unproven
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_outbox import OUTBOX, outbox_document
from shared.config import Settings
from shared.ledger.entries import EntryType, Posting, entry_id
from shared.payments.outbox import OutboxMessage
from shared.purchases.orders import CreditOrder
from tests.conftest import RazorpaySandbox, User, eventually
from tests.e2e.stripe_helpers import CARD_DECLINED, CARD_OK, pay, payment_method

pytestmark = pytest.mark.stack


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=60)


def usage(gateway: str, headers: dict[str, str], uid: str, amount: int, event_id: str) -> Any:
    body = {"user_id": uid, "service": "ai", "amount": amount, "event_id": event_id}
    return post(f"{gateway}/api/v1/usage", body, headers)


def test_payments_and_purchases_log_their_outcomes(
    gateway: str, user: User, stripe_client: Any, razorpay_sandbox: RazorpaySandbox
) -> None:
    assert pay(gateway, user, payment_method(stripe_client, CARD_OK)).status_code == 200
    assert pay(gateway, user, payment_method(stripe_client, CARD_DECLINED)).status_code == 402
    order = post(f"{gateway}/api/v1/credits/purchase", {"package_id": "basic"}, user.headers)
    assert order.status_code == 201, order.text
    paid = razorpay_sandbox.pay(order.json()["provider_order_id"])
    verified = post(f"{gateway}/api/v1/payments/verify", paid, user.headers)
    assert verified.json()["status"] == "paid", verified.text


def test_a_second_payment_on_a_paid_order_is_counted(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    order = post(f"{gateway}/api/v1/credits/purchase", {"package_id": "basic"}, user.headers)
    provider_order = order.json()["provider_order_id"]
    paid = razorpay_sandbox.pay(provider_order)
    assert post(f"{gateway}/api/v1/payments/verify", paid, user.headers).status_code == 200
    late = razorpay_sandbox.post(f"/_sandbox/orders/{provider_order}/pay", {"late": True})
    assert late.status_code == 200, late.text
    razorpay_sandbox.wait_delivered()  # its payment.captured logs "second payment needs a refund"


def test_forged_webhooks_of_both_providers_are_refused_and_counted(gateway: str) -> None:
    razorpay = requests.post(
        f"{gateway}/api/v1/webhooks/razorpay",
        data=b'{"event": "payment.captured"}',
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": "0" * 64,
            "x-razorpay-event-id": f"evt_{uuid.uuid4().hex[:14]}",
        },
        timeout=30,
    )
    stripe = requests.post(
        f"{gateway}/api/webhook",
        data=b'{"type": "payment_intent.succeeded"}',
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=" + "0" * 64},
        timeout=30,
    )
    assert (razorpay.status_code, stripe.status_code) == (400, 400)


def test_a_balance_falling_below_its_threshold_raises_an_alert(
    gateway: str,
    service_headers: dict[str, str],
    gateway_ledger: FirestoreLedger,
    stack_firestore: Any,
) -> None:
    from google.cloud.firestore_v1.base_query import FieldFilter

    uid = f"monitor-{uuid.uuid4().hex[:12]}"
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 6_000, actor="test")])
    assert usage(gateway, service_headers, uid, 2_000, uuid.uuid4().hex).status_code == 201
    alerts = stack_firestore.collection("low_balance_alerts")
    query = alerts.where(filter=FieldFilter("user_id", "==", uid))
    assert eventually(lambda: list(query.stream()), timeout=20), "no low-balance alert"


def test_an_account_whose_next_entry_is_always_taken_answers_503(
    gateway: str,
    service_headers: dict[str, str],
    gateway_ledger: FirestoreLedger,
    stack_firestore: Any,
) -> None:
    uid = f"stuck-{uuid.uuid4().hex[:12]}"
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 5_000, actor="test")])
    # A stand-in for a writer that always wins: a document holds the account's next entry id
    # but belongs to no ledger, so each retry re-reads the same head and loses the same race.
    squatter = stack_firestore.collection("credit_transactions").document(entry_id(uid, 2))
    squatter.create({"user_id": f"squatter-{uid}"})
    event_id = uuid.uuid4().hex
    try:
        stuck = usage(gateway, service_headers, uid, 100, event_id)
        assert stuck.status_code == 503, stuck.text
        assert stuck.json()["error"]["code"] == "unavailable"
    finally:
        squatter.delete()
    assert usage(gateway, service_headers, uid, 100, event_id).status_code == 201


def test_a_notification_the_event_service_keeps_refusing_is_parked(
    stack: Stack, stack_firestore: Any
) -> None:
    message = OutboxMessage(
        "payment.succeeded", f"pi_monitor{uuid.uuid4().hex[:12]}", {"status": "succeeded"}
    )
    refused = requests.post(
        f"{stack.events_url}/_receiver/refuse", json={"event_id": message.id}, timeout=10
    )
    assert refused.status_code == 200
    # Its earlier attempts already failed: the next failure is the last one allowed.
    last_try = Settings.model_fields["outbox_max_attempts"].default - 1
    document = stack_firestore.collection(OUTBOX).document(message.id)
    document.create({**outbox_document(message, datetime.now(UTC)), "attempts": last_try})
    status = eventually(lambda: document.get().to_dict()["status"] == "parked", timeout=30)
    assert status, document.get().to_dict()


def test_reconciliation_gives_up_an_order_past_the_give_up_age(
    stack_env: Stack, service_tokens: Any, user: User
) -> None:
    from google.cloud import firestore

    from shared.adapters.firestore_orders import FirestoreOrders

    abandoned = CreditOrder(
        id=f"ord_{uuid.uuid4().hex}",
        user_id=user.uid,
        provider="razorpay",
        provider_order_id=f"order_{uuid.uuid4().hex[:14]}",
        amount=10_000,
        tax=1_800,
        total=11_800,
        currency="INR",
        credits=10_000,
        bonus_credits=0,
        created_at=datetime.now(UTC) - timedelta(days=30),  # the oldest in the queue
    )
    FirestoreOrders(firestore.Client(project=stack_env.project)).create(abandoned)
    token = service_tokens.mint(SCHEDULER_SERVICE_EMAIL, stack_env.service_audience)
    response = post(
        f"{stack_env.gateway_url}/api/v1/reconcile",
        {"older_than_seconds": 0, "limit": 1},
        {"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    outcomes = {item["id"]: item["outcome"] for item in response.json()["data"]}
    assert outcomes.get(abandoned.id) == "gave_up", outcomes


@pytest.mark.after_everything
def test_every_metric_counts_lines_the_suite_really_logged(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    files = sorted(tmp_path_factory.getbasetemp().rglob("*.log"))
    lines = list(payloads(files))
    print(report(lines))
    assert unproven(lines) == []
