"""Abuse that costs money: per-user limits on card payments, usage summaries and devices.

The functions run in this process against the stack (its emulator, localstripe), with the
limits lowered through their settings so a few calls reach them.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.inprocess import invoke
from devstack.stack import Stack
from tests.conftest import User, sign_up

pytestmark = pytest.mark.stack

CARD_TESTING = {"amount": 1_000, "currency": "sgd", "payment_method": "pm_stolen_card_0001"}


def test_card_payments_are_rate_limited_per_user(
    stack_env: Stack, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Card testing: each try costs a Stripe call, declined or not, so each one counts."""
    monkeypatch.setenv("PAYMENT_RATE_LIMIT", "2")
    path = "/api/payment/process"

    def pay(who: User) -> Any:
        return invoke("stripe_payment_process", "POST", path=path, headers=who.headers,
                      json=CARD_TESTING)  # fmt: skip

    assert [pay(user).status_code for _ in range(2)] == [400, 400]  # unknown PaymentMethod
    limited = pay(user)
    assert limited.status_code == 429, limited.get_json()
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert pay(sign_up(stack_env)).status_code == 400  # another user is not limited


def test_usage_summaries_are_rate_limited_per_user(
    stack_env: Stack, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USAGE_SUMMARY_RATE_LIMIT", "2")
    path = "/api/v1/transactions/usage"
    codes = [
        invoke("transactions_usage", "GET", path=path, headers=user.headers).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_device_registrations_are_rate_limited_per_user(
    stack_env: Stack, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVICE_RATE_LIMIT", "2")
    codes = [
        invoke("devices_register", "POST", path="/api/v1/devices", headers=user.headers,
               json={"token": f"fcm-token-{n}"}).status_code
        for n in range(3)
    ]  # fmt: skip
    assert codes == [201, 201, 429]


def test_a_user_keeps_at_most_ten_devices_the_newest(
    stack_env: Stack, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every low-balance alert is pushed to each token: their number is bounded per user."""
    from google.cloud import firestore

    from shared.accounts.devices import MAX_DEVICES_PER_USER
    from shared.adapters.firestore_devices import FirestoreDeviceStore

    monkeypatch.setenv("DEVICE_RATE_LIMIT", "100")
    for n in range(MAX_DEVICES_PER_USER + 3):
        response = invoke("devices_register", "POST", path="/api/v1/devices",
                          headers=user.headers, json={"token": f"fcm-token-{n:02d}"})  # fmt: skip
        assert response.status_code == 201, response.get_json()
    store = FirestoreDeviceStore(firestore.Client(project=stack_env.project))
    kept = store.tokens(user.uid)
    assert kept == [f"fcm-token-{n:02d}" for n in range(3, MAX_DEVICES_PER_USER + 3)]
