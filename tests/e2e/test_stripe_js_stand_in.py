"""The calls Stripe.js makes from a page with the publishable key, against the stack's localstripe.

The billing portal confirms a credit purchase's PaymentIntent in the browser: it creates a card
PaymentMethod, confirms with the client secret, and completes 3-D Secure. Stripe accepts those
calls with the publishable key; these tests hold the local stand-in (devstack/localstripe_server.py)
to it.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.e2e.stripe_helpers import CARD_3DS, CARD_INSUFFICIENT_FUNDS, CARD_OK

pytestmark = pytest.mark.stack

PUBLISHABLE_KEY = "pk_test_localstripe"


def browser_post(stack: Stack, path: str, **fields: str) -> requests.Response:
    """POST as Stripe.js does: form-encoded, the publishable key in the body, no secret key."""
    return requests.post(
        f"{stack.stripe_url}{path}", data={"key": PUBLISHABLE_KEY, **fields}, timeout=10
    )


def card_payment_method(stack: Stack, number: str) -> str:
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    fields = {"type": "card", **{f"card[{k}]": v for k, v in card.items()}}
    response = browser_post(stack, "/v1/payment_methods", **fields)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def payment_intent(stripe_client: Any) -> Any:
    return stripe_client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"})


def confirm(stack: Stack, intent: Any, pm: str, secret: str | None = None) -> requests.Response:
    fields = {"payment_method": pm, "client_secret": secret or intent.client_secret}
    return browser_post(stack, f"/v1/payment_intents/{intent.id}/confirm", **fields)


def test_the_browser_confirms_with_a_card_and_3d_secure(stack: Stack, stripe_client: Any) -> None:
    intent = payment_intent(stripe_client)
    confirmed = confirm(stack, intent, card_payment_method(stack, CARD_3DS))
    assert confirmed.json()["status"] == "requires_action"
    authenticated = browser_post(
        stack,
        f"/v1/payment_intents/{intent.id}/_authenticate?success=true",
        client_secret=intent.client_secret,
    )
    assert authenticated.json()["status"] == "succeeded"


def test_a_card_declined_at_charge_says_why_and_another_card_may_follow(
    stack: Stack, stripe_client: Any
) -> None:
    intent = payment_intent(stripe_client)
    declined = confirm(stack, intent, card_payment_method(stack, CARD_INSUFFICIENT_FUNDS))
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert error["message"] == "Your card has insufficient funds."
    retried = confirm(stack, intent, card_payment_method(stack, CARD_OK))
    assert retried.json()["status"] == "succeeded"


def test_the_publishable_key_confirms_nothing_without_the_client_secret(
    stack: Stack, stripe_client: Any
) -> None:
    intent = payment_intent(stripe_client)
    pm = card_payment_method(stack, CARD_OK)
    assert confirm(stack, intent, pm, secret=f"{intent.id}_secret_guess").status_code == 401
    no_secret = browser_post(stack, f"/v1/payment_intents/{intent.id}/confirm", payment_method=pm)
    assert no_secret.status_code == 401
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == (
        "requires_payment_method"
    )
    # Reading or listing stays secret-key only (the key in a header: access logs leave it out).
    listed = requests.get(
        f"{stack.stripe_url}/v1/payment_intents",
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
        timeout=10,
    )
    assert listed.status_code == 401


def test_stripe_js_is_served_with_the_calls_a_page_makes(stack: Stack) -> None:
    script = requests.get(f"{stack.stripe_url}/js.stripe.com/v3/", timeout=10)
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "stripe.confirmCardPayment = " in script.text
    assert "stripe.createPaymentMethod = " in script.text
