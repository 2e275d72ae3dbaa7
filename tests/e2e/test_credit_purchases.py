"""Buying credits with Razorpay, end to end: the gateway, the sandbox, Auth-emulator users."""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import RazorpaySandbox, User, sign_up

pytestmark = pytest.mark.stack

BASIC = {"package_id": "basic"}  # ₹500: 50000 credits + 10 % bonus, ₹90 GST
BASIC_CREDITS, BASIC_BONUS, BASIC_TOTAL = 50_000, 5_000, 59_000


def api(gateway: str, method: str, path: str, user: User, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{gateway}{path}", headers=user.headers, timeout=20, **kwargs)


def purchase(gateway: str, user: User, body: dict[str, Any] = BASIC) -> dict[str, Any]:
    response = api(gateway, "POST", "/api/v1/credits/purchase", user, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def verify(gateway: str, user: User, checkout: dict[str, str]) -> requests.Response:
    return api(gateway, "POST", "/api/v1/payments/verify", user, json=checkout)


def balance(gateway: str, user: User) -> int:
    response = api(gateway, "GET", "/api/v1/credits/balance", user)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


def entries(gateway: str, user: User, **query: Any) -> list[dict[str, Any]]:
    response = api(gateway, "GET", "/api/v1/transactions", user, params={"limit": 100, **query})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def order_status(gateway: str, user: User, order_id: str) -> requests.Response:
    return api(gateway, "GET", "/api/v1/payments/status", user, params={"order_id": order_id})


def signed_post(stack: Stack, body: bytes, secret: str, event_id: str) -> requests.Response:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{stack.gateway_url}/api/v1/webhooks/razorpay",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature,
            "x-razorpay-event-id": event_id,
        },
        timeout=20,
    )


def captured_event(payment: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "entity": "event",
            "account_id": "acc_test",
            "event": "payment.captured",
            "contains": ["payment"],
            "payload": {"payment": {"entity": payment}},
            "created_at": 1,
        }
    ).encode()


def assert_granted_once(gateway: str, user: User) -> None:
    got = entries(gateway, user)
    assert [(e["type"], e["amount"]) for e in got] == [
        ("bonus", BASIC_BONUS),
        ("purchase", BASIC_CREDITS),
    ]
    assert balance(gateway, user) == BASIC_CREDITS + BASIC_BONUS


def test_buy_pay_verify_shows_purchase_and_bonus(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    checkout = purchase(gateway, user)
    assert checkout["provider"] == "razorpay" and checkout["status"] == "created"
    assert (checkout["amount"], checkout["tax"], checkout["total"], checkout["currency"]) == (
        50_000,
        9_000,
        BASIC_TOTAL,
        "inr",
    )
    assert (checkout["credits"], checkout["bonus_credits"]) == (BASIC_CREDITS, BASIC_BONUS)
    assert checkout["key_id"] == stack.razorpay_key_id
    provider_order = razorpay_sandbox.client.order.fetch(checkout["provider_order_id"])
    assert (
        provider_order["amount"] == BASIC_TOTAL
        and provider_order["receipt"] == checkout["order_id"]
    )

    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    response = verify(gateway, user, paid)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": checkout["order_id"],
        "status": "paid",
        "credits_granted": BASIC_CREDITS + BASIC_BONUS,
        "balance": BASIC_CREDITS + BASIC_BONUS,
    }
    assert_granted_once(gateway, user)
    status = order_status(gateway, user, checkout["order_id"]).json()
    assert status["status"] == "paid"
    assert status["provider_payment_id"] == paid["razorpay_payment_id"]

    # The webhook arriving later, and verify again, find the credits granted.
    late = razorpay_sandbox.send("payment.captured", payment_id=paid["razorpay_payment_id"])
    assert late["status_code"] == 200
    again = verify(gateway, user, paid)
    assert again.status_code == 200 and again.json()["credits_granted"] == 55_000
    assert_granted_once(gateway, user)

    orders = api(gateway, "GET", "/api/v1/credits/orders", user).json()["data"]
    assert [o["order_id"] for o in orders] == [checkout["order_id"]]


def test_webhook_first_then_verify(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    sent = razorpay_sandbox.send("order.paid", order_id=checkout["provider_order_id"])
    assert sent["status_code"] == 200
    assert_granted_once(gateway, user)

    response = verify(gateway, user, paid)
    assert response.status_code == 200, response.text
    assert response.json()["credits_granted"] == BASIC_CREDITS + BASIC_BONUS
    assert response.json()["balance"] == BASIC_CREDITS + BASIC_BONUS
    assert_granted_once(gateway, user)


def test_sandbox_webhooks_alone_grant(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    razorpay_sandbox.pay(checkout["provider_order_id"], webhooks=True)
    razorpay_sandbox.wait_delivered()  # payment.authorized, payment.captured, order.paid
    assert_granted_once(gateway, user)


def test_verify_and_webhooks_concurrently_grant_once(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    with ThreadPoolExecutor(max_workers=6) as pool:
        verifies = [pool.submit(verify, gateway, user, paid) for _ in range(3)]
        hooks = [
            pool.submit(
                razorpay_sandbox.send, "payment.captured", payment_id=paid["razorpay_payment_id"]
            )
            for _ in range(2)
        ]
        hooks.append(
            pool.submit(razorpay_sandbox.send, "order.paid", order_id=checkout["provider_order_id"])
        )
    assert [f.result().status_code for f in verifies] == [200, 200, 200]
    assert [f.result()["status_code"] for f in hooks] == [200, 200, 200]
    assert {f.result().json()["credits_granted"] for f in verifies} == {55_000}
    assert_granted_once(gateway, user)


def test_webhook_replayed_ten_times_grants_once(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    first = razorpay_sandbox.send("payment.captured", payment_id=paid["razorpay_payment_id"])
    assert first["status_code"] == 200
    with ThreadPoolExecutor(max_workers=5) as pool:
        replays = list(pool.map(razorpay_sandbox.replay, [str(first["event_id"])] * 10))
    assert [r["status_code"] for r in replays] == [200] * 10
    assert_granted_once(gateway, user)


def test_tampered_checkout_signature_is_400_and_grants_nothing(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    tampered = {**paid, "razorpay_signature": "0" * 64}
    response = verify(gateway, user, tampered)
    assert response.status_code == 400
    assert "razorpay_signature" in response.json()["error"]["details"]["fields"]
    other_payment = {**paid, "razorpay_payment_id": "pay_someoneelses0"}
    assert verify(gateway, user, other_payment).status_code == 400
    assert balance(gateway, user) == 0
    assert order_status(gateway, user, checkout["order_id"]).json()["status"] == "created"
    assert verify(gateway, user, paid).status_code == 200  # the genuine result still works


def test_tampered_webhook_body_and_wrong_secret_are_400(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    payment = razorpay_sandbox.client.payment.fetch(paid["razorpay_payment_id"])
    body = captured_event(payment)
    signature = hmac.new(stack.razorpay_webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    tampered = body.replace(b'"amount": 59000', b'"amount": 99000')
    assert tampered != body
    response = requests.post(
        f"{gateway}/api/v1/webhooks/razorpay",
        data=tampered,
        headers={"X-Razorpay-Signature": signature, "x-razorpay-event-id": "evt_tampered1"},
        timeout=20,
    )
    assert response.status_code == 400
    assert signed_post(stack, body, "not-the-secret", "evt_wrongsecret").status_code == 400
    unsigned = requests.post(f"{gateway}/api/v1/webhooks/razorpay", data=body, timeout=20)
    assert unsigned.status_code == 400
    assert balance(gateway, user) == 0
    assert order_status(gateway, user, checkout["order_id"]).json()["status"] == "created"

    # The same event, correctly signed, grants: the refusals above were for the signature.
    good = signed_post(stack, body, stack.razorpay_webhook_secret, "evt_tampered1")
    assert good.status_code == 200 and good.json()["outcome"] == "granted"
    assert_granted_once(gateway, user)


def test_amount_mismatch_grants_nothing_and_flags_the_order(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    checkout = purchase(gateway, user)
    # A payment of another, cheaper Razorpay order, presented as paying ours.
    cheap = razorpay_sandbox.client.order.create({"amount": 100, "currency": "INR"})
    cheap_payment = razorpay_sandbox.pay(cheap["id"])["razorpay_payment_id"]
    message = f"{checkout['provider_order_id']}|{cheap_payment}".encode()
    signature = hmac.new(stack.razorpay_key_secret.encode(), message, hashlib.sha256).hexdigest()
    response = verify(
        gateway,
        user,
        {
            "razorpay_order_id": checkout["provider_order_id"],
            "razorpay_payment_id": cheap_payment,
            "razorpay_signature": signature,
        },
    )
    assert response.status_code == 409, response.text
    assert set(response.json()["error"]["details"]["problems"]) == {"amount", "order_id"}

    # A signed webhook whose payment amount disagrees with the order is flagged too.
    real = razorpay_sandbox.pay(checkout["provider_order_id"])
    payment = razorpay_sandbox.client.payment.fetch(real["razorpay_payment_id"])
    body = captured_event({**payment, "amount": 100})
    hook = signed_post(stack, body, stack.razorpay_webhook_secret, "evt_mismatch_1")
    assert hook.status_code == 200 and hook.json()["outcome"].startswith("flagged")

    assert balance(gateway, user) == 0
    status = order_status(gateway, user, checkout["order_id"]).json()
    assert status["status"] == "created"
    assert status["flags"]["payment_mismatch"]["problems"]["amount"] == {
        "expected": BASIC_TOTAL,
        "got": 100,
    }


def test_one_user_cannot_see_anothers_orders(
    gateway: str, user: User, stack: Stack, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    assert verify(gateway, user, paid).status_code == 200

    other = sign_up(stack)
    assert order_status(gateway, other, checkout["order_id"]).status_code == 404
    assert order_status(gateway, other, "ord_doesnotexist").status_code == 404
    assert verify(gateway, other, paid).status_code == 404
    assert api(gateway, "GET", "/api/v1/credits/orders", other).json()["data"] == []
    assert entries(gateway, other) == []
    assert balance(gateway, other) == 0


def test_failed_payment_then_a_capture_still_grants(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    failed = razorpay_sandbox.post(
        f"/_sandbox/orders/{checkout['provider_order_id']}/fail", {"webhooks": True}
    )
    assert failed.status_code == 200
    razorpay_sandbox.wait_delivered()
    status = order_status(gateway, user, checkout["order_id"]).json()
    assert status["status"] == "failed"

    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    assert verify(gateway, user, paid).status_code == 200
    assert order_status(gateway, user, checkout["order_id"]).json()["status"] == "paid"
    # A late payment.failed replay cannot move a paid order back.
    replay = razorpay_sandbox.send("payment.failed", payment_id=failed.json()["id"])
    assert replay["status_code"] == 200
    assert order_status(gateway, user, checkout["order_id"]).json()["status"] == "paid"
    assert_granted_once(gateway, user)


def test_refund_webhooks_take_credits_back_exactly_once(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    assert verify(gateway, user, paid).status_code == 200

    client = razorpay_sandbox.client
    half = client.payment.refund(paid["razorpay_payment_id"], {"amount": BASIC_TOTAL // 2})
    razorpay_sandbox.wait_delivered()  # refund.created, refund.processed
    for _ in range(3):
        razorpay_sandbox.send("refund.processed", refund_id=half["id"])
    sent = razorpay_sandbox.post("/_sandbox/webhooks/wait").json()
    assert sent["delivered"]
    refunds = entries(gateway, user, type="refund")
    assert [e["amount"] for e in refunds] == [-27_500]  # half of purchase + bonus
    assert balance(gateway, user) == 27_500

    client.payment.refund(paid["razorpay_payment_id"])  # the rest
    razorpay_sandbox.wait_delivered()
    assert [e["amount"] for e in entries(gateway, user, type="refund")] == [-27_500, -27_500]
    assert balance(gateway, user) == 0
    status = order_status(gateway, user, checkout["order_id"]).json()
    assert status["status"] == "paid"
    assert sorted(r["credits"] for r in status["refunds"].values()) == [27_500, 27_500]


def test_refund_of_spent_credits_overdraws_explicitly(
    gateway: str, user: User, admin: User, razorpay_sandbox: RazorpaySandbox
) -> None:
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    assert verify(gateway, user, paid).status_code == 200
    spent = api(
        gateway,
        "POST",
        "/api/v1/admin/credits/adjust",
        admin,
        json={"user_id": user.uid, "amount": -50_000, "reason": "spent elsewhere"},
    )
    assert spent.status_code == 201, spent.text
    razorpay_sandbox.client.payment.refund(paid["razorpay_payment_id"])
    razorpay_sandbox.wait_delivered()
    assert balance(gateway, user) == -50_000
    (refund,) = entries(gateway, user, type="refund")
    assert (refund["amount"], refund["balance_after"]) == (-55_000, -50_000)
    status = order_status(gateway, user, checkout["order_id"]).json()
    (record,) = status["refunds"].values()
    assert record["overdraft"] == 50_000  # exactly the credits of this order already spent
