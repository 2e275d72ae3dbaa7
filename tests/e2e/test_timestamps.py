"""Every timestamp a client reads is RFC 3339 in UTC with a ``T`` (docs/api.md), payments too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_OK, get_payment, pay, payment_method, refund


def timestamps(body: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in body.items() if k.endswith("_at") and v is not None}


def assert_rfc3339(body: dict[str, Any]) -> None:
    stamps = timestamps(body)
    assert stamps, f"no timestamp in {body}"
    for name, value in stamps.items():
        assert "T" in value, f"{name}: {value!r} is not RFC 3339"
        assert datetime.fromisoformat(value).utcoffset() is not None, name


def test_payments_and_refunds_answer_rfc3339_timestamps(
    gateway: str, user: User, stripe_client: Any
) -> None:
    paid = pay(gateway, user, payment_method(stripe_client, CARD_OK))
    assert paid.status_code == 200, paid.text
    pi = paid.json()["payment_intent_id"]
    assert_rfc3339(get_payment(gateway, user, pi))
    refunded = refund(gateway, user, pi, 100)
    assert refunded.status_code == 200, refunded.text
    for value in timestamps(refunded.json()).values():
        assert "T" in value


def test_a_new_refund_answers_when_it_was_created(
    gateway: str, user: User, stripe_client: Any
) -> None:
    paid = pay(gateway, user, payment_method(stripe_client, CARD_OK))
    assert paid.status_code == 200, paid.text
    refunded = refund(gateway, user, paid.json()["payment_intent_id"], 100)
    assert refunded.status_code == 200, refunded.text
    answer = refunded.json()
    assert answer["created_at"] is not None
    assert_rfc3339(answer)
    stored = requests.get(
        f"{gateway}/api/refund/{answer['refund_id']}", headers=user.headers, timeout=10
    ).json()
    assert answer["created_at"] == stored["created_at"]


def test_a_replayed_answer_writes_its_timestamps_as_the_first_did(
    gateway: str, user: User, stripe_client: Any
) -> None:
    pm = payment_method(stripe_client, CARD_OK)
    headers = {**user.headers, "Idempotency-Key": f"replay-stamps-{pm}"}
    body: dict[str, Any] = {"amount": 1000, "currency": "sgd", "payment_method": pm}
    first, again = (
        requests.post(f"{gateway}/api/payment/process", json=body, headers=headers, timeout=30)
        for _ in range(2)
    )
    assert again.headers.get("Idempotent-Replayed") == "true", again.text
    assert_rfc3339(again.json())
    assert timestamps(again.json()) == timestamps(first.json())
