"""Second payments and lost chargebacks on the local stack (Razorpay sandbox, localstripe).

A second payment captured on a paid Razorpay order is owed back: the admin order view lists it,
an admin refunds it through the order's refund endpoint without touching credits, and the
paying payment stays refundable in full. A lost dispute takes the order's credits back once
(Razorpay ``payment.dispute.lost``, Stripe ``charge.dispute.closed`` with ``lost``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import RazorpaySandbox, User, eventually
from tests.e2e.test_stripe_credit_purchases import confirm_as_stripe_js, wait_for_balance
from tests.e2e.test_stripe_webhooks import event, send

pytestmark = pytest.mark.stack

INR_GRANTED, INR_TOTAL = 55_000, 59_000  # the basic package: 50_000 + 5_000 for ₹590


def call(gateway: str, method: str, path: str, user: User, **kwargs: Any) -> requests.Response:
    headers = {**user.headers, **kwargs.pop("headers", {})}
    return requests.request(method, f"{gateway}{path}", headers=headers, timeout=60, **kwargs)


def paid_razorpay_order(gateway: str, user: User, razorpay: RazorpaySandbox) -> dict[str, Any]:
    order = call(gateway, "POST", "/api/v1/credits/purchase", user, json={"package_id": "basic"})
    assert order.status_code == 201, order.text
    paid = razorpay.pay(order.json()["provider_order_id"])
    verified = call(gateway, "POST", "/api/v1/payments/verify", user, json=paid)
    assert verified.json()["status"] == "paid", verified.text
    return {**order.json(), "payment_id": paid["razorpay_payment_id"]}


def balance(gateway: str, user: User) -> int:
    return int(call(gateway, "GET", "/api/v1/credits/balance", user).json()["balance"])


def admin_view(gateway: str, admin: User, order_id: str) -> dict[str, Any]:
    response = call(gateway, "GET", f"/api/v1/admin/orders/{order_id}", admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refund(gateway: str, admin: User, order_id: str, **body: Any) -> requests.Response:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    return call(gateway, "POST", f"/api/v1/admin/orders/{order_id}/refund", admin,
                json={"reason": "paid twice", **body}, headers=key)  # fmt: skip


def test_a_second_razorpay_payment_is_owed_back_and_refunded_alone(
    gateway: str, user: User, admin: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    order = paid_razorpay_order(gateway, user, razorpay_sandbox)
    # An attempt the bank authorises after the order was paid: Razorpay captures it too.
    late = razorpay_sandbox.post(f"/_sandbox/orders/{order['provider_order_id']}/pay",
                                 {"late": True})  # fmt: skip
    assert late.status_code == 200, late.text
    second = late.json()["razorpay_payment_id"]
    razorpay_sandbox.wait_delivered()

    view = eventually(lambda: admin_view(gateway, admin, order["order_id"])["second_payments"])
    assert view[second]["status"] == "needs_refund" and view[second]["amount"] == INR_TOTAL
    assert balance(gateway, user) == INR_GRANTED

    first = refund(gateway, admin, order["order_id"], payment_id=second)
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["credits_taken_back"]) == (INR_TOTAL, 0)
    again = refund(gateway, admin, order["order_id"], payment_id=second)  # another key
    assert again.status_code == 200, again.text
    assert again.json()["provider_refund_id"] == first.json()["provider_refund_id"]
    razorpay_sandbox.wait_delivered()  # refund.processed of the second payment

    made = razorpay_sandbox.client.payment.fetch_multiple_refund(second)["items"]
    assert [r["amount"] for r in made] == [INR_TOTAL]
    assert balance(gateway, user) == INR_GRANTED
    status = eventually(
        lambda: (
            admin_view(gateway, admin, order["order_id"])["second_payments"][second]["status"]
            == "refunded"
        )
    )
    assert status
    # The paying payment is still all refundable, and its refund takes all the credits.
    paying = refund(gateway, admin, order["order_id"])
    assert paying.status_code == 201, paying.text
    assert (paying.json()["amount"], paying.json()["credits_taken_back"]) == (
        INR_TOTAL,
        INR_GRANTED,
    )
    assert balance(gateway, user) == 0


def test_a_lost_razorpay_dispute_takes_the_credits_back_once(
    gateway: str, user: User, admin: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    order = paid_razorpay_order(gateway, user, razorpay_sandbox)
    opened = razorpay_sandbox.post(f"/_sandbox/payments/{order['payment_id']}/dispute")
    assert opened.status_code == 200, opened.text
    dispute_id = opened.json()["id"]
    razorpay_sandbox.wait_delivered()
    view = admin_view(gateway, admin, order["order_id"])
    assert view["disputes"][dispute_id]["status"] == "open"
    assert balance(gateway, user) == INR_GRANTED  # an open dispute freezes nothing

    lost = razorpay_sandbox.post(f"/_sandbox/disputes/{dispute_id}/lost")
    assert lost.status_code == 200 and lost.json()["amount_deducted"] == INR_TOTAL, lost.text
    razorpay_sandbox.wait_delivered()
    sent = razorpay_sandbox.send("payment.dispute.lost", dispute_id=dispute_id)  # redelivered
    assert sent["status_code"] == 200, sent

    assert eventually(lambda: balance(gateway, user) == 0)
    view = admin_view(gateway, admin, order["order_id"])
    assert view["disputes"][dispute_id]["status"] == "lost"
    assert view["chargebacks"][dispute_id]["credits"] == INR_GRANTED
    refused = refund(gateway, admin, order["order_id"])
    assert refused.status_code == 400 and "charged back" in refused.text, refused.text


def test_a_lost_stripe_dispute_takes_the_credits_back_once(
    stack: Stack, gateway: str, user: User, admin: User, stripe_client: Any
) -> None:
    order = call(gateway, "POST", "/api/v1/credits/purchase", user,
                 json={"amount": 2000, "currency": "usd"}).json()  # fmt: skip
    intent = order["provider_order_id"]
    confirm_as_stripe_js(stripe_client, intent)
    granted = order["credits"] + order["bonus_credits"]
    assert wait_for_balance(gateway, user, granted) == granted

    dispute = {"id": f"dp_{uuid.uuid4().hex[:12]}", "object": "dispute", "payment_intent": intent,
               "amount": 2000, "currency": "usd", "reason": "fraudulent"}  # fmt: skip
    secret, path = stack.stripe_webhook_secret, "/api/v1/webhooks/stripe"
    for kind, status in (("created", "needs_response"), ("funds_withdrawn", "needs_response")):
        body = event(f"charge.dispute.{kind}", {**dispute, "status": status})
        assert send(gateway, body, secret, path=path).status_code == 200
    assert balance(gateway, user) == granted  # opened, even funds withdrawn: nothing frozen

    closed = event("charge.dispute.closed", {**dispute, "status": "lost"})
    for _ in range(2):  # the same event delivered twice
        assert send(gateway, closed, secret, path=path).status_code == 200
    assert balance(gateway, user) == 0
    view = admin_view(gateway, admin, order["order_id"])
    assert view["disputes"][dispute["id"]]["status"] == "lost"
    assert view["chargebacks"][dispute["id"]]["credits"] == granted
