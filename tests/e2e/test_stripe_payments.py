"""Seed 004 payments and refunds over HTTP, through the gateway, against localstripe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import User, sign_up
from tests.e2e.stripe_helpers import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_INSUFFICIENT_FUNDS,
    CARD_OK,
    CARD_REFUND_FAILS,
    CARD_REFUND_PENDING,
    authenticate_3ds,
    get_payment,
    pay,
    payment_method,
    refund,
    wait_for_status,
)

pytestmark = pytest.mark.stack


def test_a_good_card_pays_at_once(gateway: str, user: User, stripe_client: Any) -> None:
    response = pay(
        gateway,
        user,
        payment_method(stripe_client, CARD_OK),
        description="Event ticket",
        metadata={"event_id": "test_123"},
        customer_email="buyer@example.test",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["requires_action"] is False
    assert body["payment_intent_id"].startswith("pi_")
    assert (body["amount"], body["currency"]) == (1000, "sgd")
    assert body["client_secret"]
    stored = get_payment(gateway, user, body["payment_intent_id"])
    assert stored["status"] == "succeeded"
    assert stored["description"] == "Event ticket"  # kept on our record (localstripe refuses it)
    assert stored["customer_email"] == "buyer@example.test"
    assert stored["metadata"] == {"event_id": "test_123"}
    verify = requests.post(
        f"{gateway}/api/payment/verify",
        json={"payment_intent_id": body["payment_intent_id"]},
        headers=user.headers,
        timeout=10,
    )
    assert verify.status_code == 200
    assert verify.json()["verified"] is True
    assert verify.json()["status"] == "succeeded"


def test_3d_secure_answers_requires_action_then_completes(
    stack: Stack, gateway: str, user: User, stripe_client: Any
) -> None:
    response = pay(gateway, user, payment_method(stripe_client, CARD_3DS))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "requires_action"
    assert body["requires_action"] is True
    pi = body["payment_intent_id"]
    assert body["client_secret"].startswith(f"{pi}_secret_")

    authenticate_3ds(stack, pi, body["client_secret"])

    # localstripe's signed payment_intent.succeeded webhook moves our record forward.
    assert wait_for_status(gateway, user, pi, "succeeded")["status"] == "succeeded"
    verify = requests.post(
        f"{gateway}/api/payment/verify",
        json={"payment_intent_id": pi},
        headers=user.headers,
        timeout=10,
    )
    assert verify.json()["verified"] is True


def test_a_declined_card_is_402_with_its_code_and_recorded_failed(
    gateway: str, user: User, stripe_client: Any
) -> None:
    response = pay(gateway, user, payment_method(stripe_client, CARD_DECLINED))
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert error["code"] == "card_declined"
    assert error["details"]["decline_code"] == "card_declined"
    pi = error["details"]["payment_intent_id"]
    stored = get_payment(gateway, user, pi)
    assert stored["status"] == "failed"
    assert stored["decline_code"] == "card_declined"


def test_the_insufficient_funds_card_is_accepted_then_declines_at_charge(
    gateway: str, user: User, stripe_client: Any
) -> None:
    # As on Stripe: the card itself is fine (attaching it succeeds) ...
    customer = stripe_client.v1.customers.create()
    attached = stripe_client.v1.payment_methods.attach(
        payment_method(stripe_client, CARD_INSUFFICIENT_FUNDS), params={"customer": customer.id}
    )
    assert attached.customer == customer.id
    # ... and the charge is what fails, with the issuer's reason.
    response = pay(gateway, user, payment_method(stripe_client, CARD_INSUFFICIENT_FUNDS))
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert error["code"] == "card_declined"
    assert error["details"]["decline_code"] == "insufficient_funds"
    pi = error["details"]["payment_intent_id"]
    stored = get_payment(gateway, user, pi)
    assert stored["status"] == "failed"
    assert stored["decline_code"] == "insufficient_funds"
    at_stripe = stripe_client.v1.payment_intents.retrieve(pi).last_payment_error
    assert (at_stripe.code, at_stripe.decline_code) == ("card_declined", "insufficient_funds")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -100),
        ("amount", 10.5),
        ("amount", "1000"),
        ("amount", True),
        ("amount", 10**12),
        ("currency", "xyz"),
        ("payment_method", "card_4242"),
    ],
)
def test_bad_payment_requests_are_400_before_stripe(
    gateway: str, user: User, field: str, value: object
) -> None:
    body: dict[str, Any] = {
        "amount": 1000,
        "currency": "sgd",
        "payment_method": "pm_x",
        field: value,
    }
    response = requests.post(
        f"{gateway}/api/payment/process", json=body, headers=user.headers, timeout=10
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_payments_need_a_user_and_belong_to_their_owner(
    stack: Stack, gateway: str, user: User, stripe_client: Any
) -> None:
    anonymous = requests.post(f"{gateway}/api/payment/process", json={}, timeout=10)
    assert anonymous.status_code == 401
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    stranger = sign_up(stack)
    response = requests.get(f"{gateway}/api/payment/{pi}", headers=stranger.headers, timeout=10)
    assert response.status_code == 404
    assert refund(gateway, stranger, pi).status_code == 404


def test_partial_then_full_refund_then_nothing_left(
    gateway: str, user: User, stripe_client: Any
) -> None:
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]

    partial = refund(gateway, user, pi, 300)
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "succeeded"
    assert partial.json()["amount"] == 300
    assert partial.json()["payment_intent_id"] == pi

    rest = refund(gateway, user, pi)  # no amount: everything still refundable
    assert rest.status_code == 200, rest.text
    assert rest.json()["amount"] == 700

    again = refund(gateway, user, pi, 1)
    assert again.status_code == 400
    assert get_payment(gateway, user, pi)["amount_refunded"] == 1000

    refund_id = partial.json()["refund_id"]
    fetched = requests.get(f"{gateway}/api/refund/{refund_id}", headers=user.headers, timeout=10)
    assert fetched.status_code == 200
    assert fetched.json()["reason"] == "requested_by_customer"
    verify = requests.post(
        f"{gateway}/api/refund/verify",
        json={"refund_id": refund_id},
        headers=user.headers,
        timeout=10,
    )
    assert verify.status_code == 200
    assert verify.json()["verified"] is True


REFUNDS_CHANGING_LATER = {  # card → (status at first, status later)
    CARD_REFUND_FAILS: ("succeeded", "failed"),
    CARD_REFUND_PENDING: ("pending", "succeeded"),
}


@pytest.mark.parametrize("card", REFUNDS_CHANGING_LATER, ids=["fails-later", "pending-first"])
def test_a_refund_whose_status_changes_later_is_moved_by_stripes_webhook(
    gateway: str, user: User, stripe_client: Any, card: str
) -> None:
    first, later = REFUNDS_CHANGING_LATER[card]
    pi = pay(gateway, user, payment_method(stripe_client, card)).json()["payment_intent_id"]
    made = refund(gateway, user, pi)
    assert made.status_code == 200, made.text
    assert made.json()["status"] == first

    url = f"{gateway}/api/refund/{made.json()['refund_id']}"
    deadline = time.monotonic() + 15  # Stripe's refund.updated arrives a moment later
    while (status := requests.get(url, headers=user.headers, timeout=10).json()["status"]) != later:
        assert time.monotonic() < deadline, f"still {status}"
        time.sleep(0.2)
    # The payment counts only refunds that return money: a failed one is taken off again.
    assert get_payment(gateway, user, pi)["amount_refunded"] == (0 if later == "failed" else 1000)


@pytest.mark.parametrize("card", REFUNDS_CHANGING_LATER, ids=["fails-later", "pending-first"])
def test_a_refund_made_outside_our_api_is_recorded_on_the_payment_from_stripes_webhook(
    gateway: str, user: User, stripe_client: Any, stack_firestore: Any, card: str
) -> None:
    # As the Dashboard does: POST /v1/refunds straight to Stripe, no reservation of ours.
    # localstripe sends no refund.created, so the refund's status change (refund.updated, with
    # these cards) is the webhook that first names it to us.
    _, later = REFUNDS_CHANGING_LATER[card]
    pi = pay(gateway, user, payment_method(stripe_client, card)).json()["payment_intent_id"]
    made = stripe_client.v1.refunds.create(params={"payment_intent": pi, "amount": 400})

    url = f"{gateway}/api/refund/{made.id}"
    deadline = time.monotonic() + 15
    while (got := requests.get(url, headers=user.headers, timeout=10)).status_code == 404 or (
        got.json()["status"] != later
    ):
        assert time.monotonic() < deadline, got.text
        time.sleep(0.2)
    assert (got.json()["amount"], got.json()["payment_intent_id"]) == (400, pi)
    assert get_payment(gateway, user, pi)["amount_refunded"] == (0 if later == "failed" else 400)
    outbox = stack_firestore.collection("outbox")
    assert outbox.document(f"refund.{later}.{made.id}").get().exists  # the merchant hears of it
    # What is left to refund through our API counts it: 600 (all of it when it failed).
    left = 1000 if later == "failed" else 600
    assert refund(gateway, user, pi, left + 1).status_code == 400
    assert refund(gateway, user, pi, left).status_code == 200


def test_a_refund_made_outside_our_api_is_read_from_stripe_when_charge_refunded_names_none(
    stack: Stack, user: User, stripe_client: Any
) -> None:
    from tests.e2e.test_stripe_webhooks import event, send

    gateway = stack.gateway_url
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    made = stripe_client.v1.refunds.create(params={"payment_intent": pi, "amount": 300})
    # localstripe sends no webhook for it; Stripe's charge.refunded, as current API versions send
    # it, names the PaymentIntent and not its refunds: we read Stripe's list of them.
    charge = {"id": f"ch_{pi[3:]}", "object": "charge", "payment_intent": pi, "amount": 1000,
              "amount_refunded": 300, "currency": "sgd", "metadata": {}}  # fmt: skip
    body = event("charge.refunded", charge)
    for _ in range(2):  # and its redelivery
        assert send(gateway, body, stack.stripe_webhook_secret).status_code == 200
    assert get_payment(gateway, user, pi)["amount_refunded"] == 300
    fetched = requests.get(f"{gateway}/api/refund/{made.id}", headers=user.headers, timeout=10)
    assert (fetched.status_code, fetched.json()["amount"]) == (200, 300), fetched.text


def test_refunding_more_than_captured_is_rejected(
    gateway: str, user: User, stripe_client: Any
) -> None:
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    response = refund(gateway, user, pi, 1001)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["amount"] == "at most 1000 is refundable"
    assert get_payment(gateway, user, pi)["amount_refunded"] == 0


def test_concurrent_refunds_never_exceed_the_payment(
    gateway: str, user: User, stripe_client: Any
) -> None:
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: refund(gateway, user, pi, 300), range(8)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 200] + [400] * 5, [r.text for r in responses]
    # What Stripe itself refunded agrees: three refunds of 300.
    stripe_refunds = stripe_client.v1.refunds.list(params={"payment_intent": pi}).data
    assert sorted(r.amount for r in stripe_refunds) == [300, 300, 300]
    assert get_payment(gateway, user, pi)["amount_refunded"] == 900
    assert refund(gateway, user, pi).json()["amount"] == 100


def test_refunding_a_failed_payment_is_rejected(
    gateway: str, user: User, stripe_client: Any
) -> None:
    declined = pay(gateway, user, payment_method(stripe_client, CARD_DECLINED))
    pi = declined.json()["error"]["details"]["payment_intent_id"]
    response = refund(gateway, user, pi)
    assert response.status_code == 400


def test_every_outcome_is_written_to_the_outbox(
    gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    pi = pay(gateway, user, payment_method(stripe_client, CARD_OK)).json()["payment_intent_id"]
    refund_id = refund(gateway, user, pi, 250).json()["refund_id"]
    declined = pay(gateway, user, payment_method(stripe_client, CARD_DECLINED))
    failed_pi = declined.json()["error"]["details"]["payment_intent_id"]

    outbox = stack_firestore.collection("outbox")
    paid = outbox.document(f"payment.succeeded.{pi}").get().to_dict()
    assert paid["data"]["amount"] == 1000 and paid["status"] in ("pending", "delivered")
    refunded = outbox.document(f"refund.succeeded.{refund_id}").get().to_dict()
    assert refunded["data"]["amount"] == 250
    failed = outbox.document(f"payment.failed.{failed_pi}").get().to_dict()
    assert failed["data"]["decline_code"] == "card_declined"
