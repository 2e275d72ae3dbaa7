"""Shared steps of the Stripe end-to-end tests: make a card, pay, wait for a state."""

from __future__ import annotations

import time
from typing import Any

import requests

from devstack.stack import Stack
from tests.conftest import User

CARD_OK = "4242424242424242"
CARD_3DS = "4000000000003220"
CARD_DECLINED = "4000000000000341"
# Seed 004's failing card: Stripe accepts it, then declines the charge for insufficient funds.
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
# Stripe's refund test cards: a refund starts succeeded then fails (refund.failed), or starts
# pending then succeeds (refund.updated); devstack/localstripe_server.py makes localstripe agree.
CARD_REFUND_FAILS = "4000000000005126"
CARD_REFUND_PENDING = "4000000000007726"
# Ours (devstack/localstripe_server.py), not Stripe's: a refund pending, then waiting for the
# customer's action, then failed.
CARD_REFUND_WAITS_THEN_FAILS = "4000000000000077"


def payment_method(stripe_client: Any, number: str) -> str:
    """Create a PaymentMethod as Stripe.js would in the browser (card data never reaches us)."""
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    return str(stripe_client.v1.payment_methods.create(params={"type": "card", "card": card}).id)


def pay(gateway: str, user: User, pm: str, amount: int = 1000, **extra: Any) -> requests.Response:
    body = {"amount": amount, "currency": "sgd", "payment_method": pm, **extra}
    return requests.post(
        f"{gateway}/api/payment/process", json=body, headers=user.headers, timeout=30
    )


def refund(gateway: str, user: User, pi: str, amount: int | None = None) -> requests.Response:
    body: dict[str, Any] = {"payment_intent_id": pi, "reason": "requested_by_customer"}
    if amount is not None:
        body["amount"] = amount
    return requests.post(
        f"{gateway}/api/refund/process", json=body, headers=user.headers, timeout=30
    )


def get_payment(gateway: str, user: User, pi: str) -> dict[str, Any]:
    response = requests.get(f"{gateway}/api/payment/{pi}", headers=user.headers, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_status(
    gateway: str, user: User, pi: str, status: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll our record until it shows ``status`` (a webhook from localstripe is on its way)."""
    deadline = time.monotonic() + timeout
    while True:
        payment = get_payment(gateway, user, pi)
        if payment["status"] == status or time.monotonic() > deadline:
            return payment
        time.sleep(0.2)


def authenticate_3ds(stack: Stack, pi: str, client_secret: str, success: bool = True) -> None:
    """Complete 3-D Secure as the customer's browser does with localstripe's Stripe.js."""
    response = requests.post(
        f"{stack.stripe_url}/v1/payment_intents/{pi}/_authenticate",
        data={
            "client_secret": client_secret,
            "success": "true" if success else "false",
            "key": "pk_test_local",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
