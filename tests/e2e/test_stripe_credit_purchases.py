"""Credit purchases through Stripe: another currency (or when asked for), granted once by the
signed ``payment_intent.succeeded`` webhook through the same grant path as Razorpay."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_OK, payment_method

pytestmark = pytest.mark.stack


def purchase(gateway: str, user: User, **body: Any) -> requests.Response:
    return requests.post(
        f"{gateway}/api/v1/credits/purchase", json=body, headers=user.headers, timeout=30
    )


def balance(gateway: str, user: User) -> int:
    response = requests.get(f"{gateway}/api/v1/credits/balance", headers=user.headers, timeout=10)
    response.raise_for_status()
    return int(response.json()["balance"])


def wait_for_balance(gateway: str, user: User, expected: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while (got := balance(gateway, user)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def confirm_as_stripe_js(stripe_client: Any, intent_id: str) -> None:
    """What the client app does with the client secret: confirm with a card PaymentMethod.

    Stripe.js sends the PaymentMethod with the confirm call; localstripe only takes it in two
    steps (attach by update, then confirm), which ends in the same state.
    """
    pm = payment_method(stripe_client, CARD_OK)
    stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": pm})
    stripe_client.v1.payment_intents.confirm(intent_id)


def test_a_usd_purchase_goes_through_stripe_and_grants_once(
    gateway: str, user: User, stripe_client: Any
) -> None:
    # $20.00 at ₹83.25/$ is ₹1,665 of credits: the 15 % tier, no GST on a sale abroad.
    response = purchase(gateway, user, amount=2000, currency="usd")
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["provider"] == "stripe"
    assert (order["amount"], order["tax"], order["total"], order["currency"]) == (
        2000,
        0,
        2000,
        "usd",
    )
    assert (order["credits"], order["bonus_credits"]) == (166_500, 24_975)
    assert order["client_secret"].startswith(order["provider_order_id"])

    confirm_as_stripe_js(stripe_client, order["provider_order_id"])
    assert wait_for_balance(gateway, user, 166_500 + 24_975) == 191_475

    status = requests.get(
        f"{gateway}/api/v1/payments/status",
        params={"order_id": order["order_id"]},
        headers=user.headers,
        timeout=10,
    ).json()
    assert status["status"] == "paid"
    history = requests.get(
        f"{gateway}/api/v1/transactions", headers=user.headers, timeout=10
    ).json()["data"]
    assert sorted(e["type"] for e in history) == ["bonus", "purchase"]


def test_inr_through_stripe_when_asked_for(gateway: str, user: User, stripe_client: Any) -> None:
    response = purchase(gateway, user, package_id="basic", provider="stripe")
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["provider"], order["currency"], order["total"]) == ("stripe", "inr", 59_000)
    confirm_as_stripe_js(stripe_client, order["provider_order_id"])
    assert wait_for_balance(gateway, user, 50_000 + 5_000) == 55_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 2000, "currency": "eur"}, "currency"),  # no rate configured
        ({"amount": 100, "currency": "usd"}, "amount"),  # $1 is under ₹100
        ({"amount": 2000, "currency": "usd", "provider": "razorpay"}, "provider"),
        ({"amount": 20.5, "currency": "usd"}, "amount"),
    ],
)
def test_bad_foreign_purchases_are_refused_naming_the_field(
    gateway: str, user: User, body: dict[str, Any], field: str
) -> None:
    response = purchase(gateway, user, **body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


def test_many_distinct_success_events_for_one_order_grant_once(
    gateway: str, user: User, stack: Any, stripe_client: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.e2e.test_stripe_webhooks import event, send

    order = purchase(gateway, user, amount=2000, currency="usd").json()
    succeeded = {"id": order["provider_order_id"], "object": "payment_intent", "amount": 2000,
                 "amount_received": 2000, "currency": "usd", "status": "succeeded",
                 "metadata": {"credit_order_id": order["order_id"]}}  # fmt: skip
    # Ten different event ids (so webhook dedupe cannot help) racing: the grant's own
    # effect key must still make it happen once.
    bodies = [event("payment_intent.succeeded", succeeded) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda b: send(gateway, b, stack.stripe_webhook_secret), bodies))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert balance(gateway, user) == 191_475
    history = requests.get(f"{gateway}/api/v1/transactions", headers=user.headers, timeout=10)
    assert len(history.json()["data"]) == 2


def test_a_success_event_for_the_wrong_amount_grants_nothing(
    gateway: str, user: User, stack: Any
) -> None:
    from tests.e2e.test_stripe_webhooks import event, send

    order = purchase(gateway, user, amount=2000, currency="usd").json()
    short = {"id": order["provider_order_id"], "object": "payment_intent", "amount": 1000,
             "amount_received": 1000, "currency": "usd", "status": "succeeded",
             "metadata": {"credit_order_id": order["order_id"]}}  # fmt: skip
    assert send(gateway, event("payment_intent.succeeded", short),
                stack.stripe_webhook_secret).status_code == 200  # fmt: skip
    assert balance(gateway, user) == 0


def refunded_charge(pi: str, amount_refunded: int) -> dict[str, Any]:
    # As current API versions send it: the charge names its PaymentIntent, not its refunds.
    return {"id": f"ch_{pi[3:]}", "object": "charge", "payment_intent": pi, "amount": 2000,
            "amount_refunded": amount_refunded, "currency": "usd", "metadata": {}}  # fmt: skip


def test_stripe_refunds_of_a_credit_purchase_take_the_credits_back_once_each(
    gateway: str, user: User, stack: Any, stripe_client: Any
) -> None:
    from tests.e2e.test_stripe_webhooks import event, send

    order = purchase(gateway, user, amount=2000, currency="usd").json()
    pi = order["provider_order_id"]
    confirm_as_stripe_js(stripe_client, pi)
    assert wait_for_balance(gateway, user, 191_475) == 191_475

    # A quarter refunded (say, from Stripe's Dashboard): a quarter of the credits, rounded down.
    stripe_client.v1.refunds.create(params={"payment_intent": pi, "amount": 500})
    first = event("charge.refunded", refunded_charge(pi, 500))
    assert send(gateway, first, stack.stripe_webhook_secret).status_code == 200
    assert balance(gateway, user) == 191_475 - 47_868
    # The same event again, and another event saying the same: nothing more is taken.
    for body in (first, event("charge.refunded", refunded_charge(pi, 500))):
        assert send(gateway, body, stack.stripe_webhook_secret).status_code == 200
    assert balance(gateway, user) == 191_475 - 47_868

    # The rest refunded: exactly what was granted comes back, never more.
    stripe_client.v1.refunds.create(params={"payment_intent": pi, "amount": 1500})
    rest = event("charge.refunded", refunded_charge(pi, 2000))
    assert send(gateway, rest, stack.stripe_webhook_secret).status_code == 200
    assert balance(gateway, user) == 0
    account = requests.get(f"{gateway}/api/v1/credits/account", headers=user.headers, timeout=10)
    assert account.json()["total_refunded"] == 191_475
    history = requests.get(
        f"{gateway}/api/v1/transactions",
        params={"type": "refund"},
        headers=user.headers,
        timeout=10,
    ).json()["data"]
    assert sorted(-e["amount"] for e in history) == [47_868, 143_607]


def test_a_refund_event_before_the_grant_is_refused_for_redelivery(
    gateway: str, user: User, stack: Any, stripe_client: Any
) -> None:
    from tests.e2e.test_stripe_webhooks import event, send

    order = purchase(gateway, user, amount=2000, currency="usd").json()
    pi = order["provider_order_id"]
    early = event("charge.refunded", refunded_charge(pi, 2000))
    refused = send(gateway, early, stack.stripe_webhook_secret)
    assert refused.status_code == 503, refused.text  # Stripe redelivers a failed event
    assert balance(gateway, user) == 0

    confirm_as_stripe_js(stripe_client, pi)
    assert wait_for_balance(gateway, user, 191_475) == 191_475
    stripe_client.v1.refunds.create(params={"payment_intent": pi})
    assert send(gateway, early, stack.stripe_webhook_secret).status_code == 200  # redelivered
    assert balance(gateway, user) == 0
