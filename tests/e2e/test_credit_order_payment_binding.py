"""A credit order is paid only by its own PaymentIntent: never by a card payment (seed 004) or any
other PaymentIntent whose metadata names the order."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.payments.records import RESERVED_METADATA_KEYS
from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_OK, pay, payment_method
from tests.e2e.test_stripe_credit_purchases import balance, purchase

pytestmark = pytest.mark.stack


def order_status(gateway: str, user: User, order_id: str) -> str:
    response = requests.get(
        f"{gateway}/api/v1/payments/status",
        params={"order_id": order_id},
        headers=user.headers,
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["status"])


def credits_stay_zero(gateway: str, user: User, seconds: float) -> int:
    """Watch the balance for ``seconds`` (localstripe's webhooks are on their way); return it."""
    deadline = time.monotonic() + seconds
    while (got := balance(gateway, user)) == 0 and time.monotonic() < deadline:
        time.sleep(0.25)
    return got


def test_card_payment_metadata_cannot_pay_a_credit_order(
    gateway: str, user: User, stripe_client: Any
) -> None:
    order = purchase(gateway, user, amount=2000, currency="usd").json()
    # The attack: a card payment of the order's amount whose metadata names the unpaid order.
    response = pay(
        gateway,
        user,
        payment_method(stripe_client, CARD_OK),
        amount=order["total"],
        currency=order["currency"],
        metadata={"credit_order_id": order["order_id"]},
    )
    assert credits_stay_zero(gateway, user, 5) == 0
    assert order_status(gateway, user, order["order_id"]) == "created"
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "metadata.credit_order_id" in error["details"]["fields"]


@pytest.mark.parametrize("key", sorted(RESERVED_METADATA_KEYS))
def test_card_payments_refuse_the_metadata_keys_the_service_uses(
    gateway: str, user: User, key: str
) -> None:
    # Refused before Stripe is called: the PaymentMethod is never looked at.
    response = pay(gateway, user, "pm_never_used", metadata={key: "x", "event_id": "e1"})
    assert response.status_code == 400, response.text
    assert list(response.json()["error"]["details"]["fields"]) == [f"metadata.{key}"]


def test_another_payment_intent_naming_a_credit_order_does_not_pay_it(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    """A PaymentIntent made elsewhere on the account (Dashboard, another integration, a card
    payment made before the metadata check) names the order: only the order's own intent pays."""
    order = purchase(gateway, user, amount=2000, currency="usd").json()
    stranger = stripe_client.v1.payment_intents.create(
        params={
            "amount": order["total"],
            "currency": order["currency"],
            "payment_method": payment_method(stripe_client, CARD_OK),
            "metadata": {"credit_order_id": order["order_id"], "user_id": user.uid},
        }
    )
    stripe_client.v1.payment_intents.confirm(stranger.id)
    # localstripe sends payment_intent.succeeded to the gateway; once it is processed, the
    # intent is recorded as what it is (not a credit order's).
    transition = stack_firestore.collection("payment_transitions").document(
        f"{stranger.id}_succeeded"
    )
    deadline = time.monotonic() + 20
    while not transition.get().exists and balance(gateway, user) == 0:
        assert time.monotonic() < deadline, "the succeeded webhook never arrived"
        time.sleep(0.25)
    assert balance(gateway, user) == 0
    assert order_status(gateway, user, order["order_id"]) == "created"


def test_a_credit_order_refund_takes_credits_back_even_if_its_intent_was_seen_as_a_payment(
    stack: Stack, gateway: str, user: User, stripe_client: Any, stack_firestore: Any
) -> None:
    """Whether a refund takes credits back is decided by finding the intent among credit orders,
    not by the intent missing from card payments: an event about the intent that arrived before
    the order was stored (between Stripe creating the intent and our commit) records it there."""
    from tests.e2e.test_stripe_credit_purchases import (
        confirm_as_stripe_js,
        refunded_charge,
        wait_for_balance,
    )
    from tests.e2e.test_stripe_webhooks import event, send

    order = purchase(gateway, user, amount=2000, currency="usd").json()
    pi = order["provider_order_id"]
    # What that early event left (the race itself cannot be timed from outside).
    early = {"payment_intent_id": pi, "amount": 2000, "currency": "usd", "metadata": {},
             "states": {"r10": {"status": "requires_payment_method"}}}  # fmt: skip
    stack_firestore.collection("payments").document(pi).set(early)
    confirm_as_stripe_js(stripe_client, pi)
    assert wait_for_balance(gateway, user, 191_475) == 191_475
    stripe_client.v1.refunds.create(params={"payment_intent": pi})
    refunded = event("charge.refunded", refunded_charge(pi, 2000))
    assert send(gateway, refunded, stack.stripe_webhook_secret).status_code == 200
    assert balance(gateway, user) == 0
