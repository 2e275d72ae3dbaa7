"""Credit grants through the gateway: expiry, check, void, and refunds taking their own grants."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import SCHEDULER_SERVICE_EMAIL, Stack
from shared.ledger.invariants import invariant_violations
from tests.conftest import RazorpaySandbox, User
from tests.e2e.test_credit_purchases import BASIC_BONUS, BASIC_CREDITS, purchase, verify

pytestmark = pytest.mark.stack


def call(gateway: str, path: str, headers: dict[str, str], body: Any = None) -> requests.Response:
    return requests.post(f"{gateway}{path}", json=body, headers=headers, timeout=30)


def get(gateway: str, path: str, user: User, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{gateway}{path}", headers=user.headers, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def admin_grant(gateway: str, admin: User, uid: str, amount: int, **terms: Any) -> dict[str, Any]:
    body = {"user_id": uid, "amount": amount, "reason": "test grant", **terms}
    response = call(gateway, "/api/v1/admin/credits/grant", admin.headers, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def charge(gateway: str, headers: dict[str, str], uid: str, amount: int) -> str:
    event_id = f"evt-{uuid.uuid4().hex[:12]}"
    body = {"user_id": uid, "service": "ai", "amount": amount, "event_id": event_id}
    response = call(gateway, "/api/v1/usage", headers, body)
    assert response.status_code == 201, response.text
    return event_id


def remaining(account: dict[str, Any]) -> dict[tuple[str, int], int]:
    return {(g["category"], g["priority"]): g["remaining"] for g in account["grants"]}


def test_a_grant_expires_for_reads_at_once_and_in_the_ledger_by_the_job(  # noqa: PLR0917 - pytest fixtures
    stack: Stack, gateway: str, user: User, admin: User, service_headers, service_tokens,
    gateway_ledger,
) -> None:  # fmt: skip
    expires_at = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    admin_grant(gateway, admin, user.uid, 300, expires_at=expires_at.isoformat())
    admin_grant(gateway, admin, user.uid, 100, category="paid")
    account = get(gateway, "/api/v1/credits/account", user)
    assert account["balance"] == 400
    assert datetime.fromisoformat(account["next_expiry"]) == expires_at
    assert [(g["category"], g["remaining"]) for g in account["grants"]] == [
        ("promotional", 300),
        ("paid", 100),
    ]
    check = call(gateway, "/api/v1/credits/check", service_headers, {"user_id": user.uid,
                                                                      "amount": 350})  # fmt: skip
    assert check.status_code == 200, check.text
    assert check.json() == {"allowed": True, "available": 400}

    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.2)
    # Nothing written yet, and still no read counts the expired credits.
    assert get(gateway, "/api/v1/credits/balance", user)["balance"] == 100
    check = call(gateway, "/api/v1/credits/check", service_headers, {"user_id": user.uid,
                                                                      "amount": 350})  # fmt: skip
    assert check.json() == {"allowed": False, "available": 100}
    spend = {"user_id": user.uid, "service": "ai", "amount": 150, "event_id": "too-much"}
    assert call(gateway, "/api/v1/usage", service_headers, spend).status_code == 402

    scheduler = service_tokens.mint(SCHEDULER_SERVICE_EMAIL, stack.service_audience)
    run = call(gateway, "/api/v1/credits/expire", {"Authorization": f"Bearer {scheduler}"})
    assert run.status_code == 200, run.text
    assert run.json()["accounts"] >= 1
    history = get(gateway, "/api/v1/transactions", user, type="expiry")["data"]
    assert [(e["amount"], [d["credits"] for d in e["draws"]]) for e in history] == [(-300, [-300])]
    account = get(gateway, "/api/v1/credits/account", user)
    assert (account["balance"], account["total_expired"], account["next_expiry"]) == (
        100,
        300,
        None,
    )
    assert invariant_violations(gateway_ledger.entries(user.uid)) == []


def test_a_void_returns_the_same_grants_once(
    gateway: str, user: User, admin: User, service_headers, gateway_ledger
) -> None:
    admin_grant(gateway, admin, user.uid, 50, priority=10)
    admin_grant(gateway, admin, user.uid, 100, category="paid")
    event_id = charge(gateway, service_headers, user.uid, 80)
    [usage] = get(gateway, "/api/v1/transactions", user, type="usage")["data"]
    assert [(d["category"], d["credits"]) for d in usage["draws"]] == [
        ("promotional", -50),
        ("paid", -30),
    ]

    path = f"/api/v1/usage/{event_id}/void"
    first = call(gateway, path, service_headers, {"service": "ai"})
    assert first.status_code == 201, first.text
    again = call(gateway, path, service_headers, {"service": "ai"})
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "replayed": True}
    assert first.json()["amount"] == 80 and first.json()["balance_after"] == 150
    account = get(gateway, "/api/v1/credits/account", user)
    assert remaining(account) == {("promotional", 10): 50, ("paid", 50): 100}
    assert account["total_voided"] == 80

    unknown = call(gateway, "/api/v1/usage/never-charged/void", service_headers, {"service": "ai"})
    assert unknown.status_code == 404, unknown.text
    assert invariant_violations(gateway_ledger.entries(user.uid)) == []


def test_a_refund_takes_back_its_own_orders_grants_first(
    gateway: str, user: User, admin: User, razorpay_sandbox: RazorpaySandbox, gateway_ledger
) -> None:
    admin_grant(gateway, admin, user.uid, 1_000)  # promotional, spent before the purchase's
    checkout = purchase(gateway, user)
    paid = razorpay_sandbox.pay(checkout["provider_order_id"])
    assert verify(gateway, user, paid).status_code == 200
    account = get(gateway, "/api/v1/credits/account", user)
    assert remaining(account) == {
        ("promotional", 50): 1_000 + BASIC_BONUS,
        ("paid", 50): BASIC_CREDITS,
    }

    razorpay_sandbox.client.payment.refund(paid["razorpay_payment_id"])
    razorpay_sandbox.wait_delivered()
    [refund] = get(gateway, "/api/v1/transactions", user, type="refund")["data"]
    # The order's paid credits and its bonus, not the admin's grant.
    assert refund["amount"] == -(BASIC_CREDITS + BASIC_BONUS)
    assert sorted(d["credits"] for d in refund["draws"]) == [-BASIC_CREDITS, -BASIC_BONUS]
    assert remaining(get(gateway, "/api/v1/credits/account", user)) == {("promotional", 50): 1_000}
    assert invariant_violations(gateway_ledger.entries(user.uid)) == []


def test_admin_grant_terms_are_checked(gateway: str, user: User, admin: User) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases: list[tuple[dict[str, object], str]] = [
        ({"expires_at": past}, "expires_at"),
        ({"priority": 101}, "priority"),
        ({"category": "free"}, "category"),
    ]
    for terms, field in cases:
        body = {"user_id": user.uid, "amount": 10, "reason": "x", **terms}
        response = call(gateway, "/api/v1/admin/credits/grant", admin.headers, body)
        assert response.status_code == 400, response.text
        assert field in response.text
    assert get(gateway, "/api/v1/credits/balance", user)["balance"] == 0
