"""A new refund's answer says when it was created: the Firestore store stamps it, the answer is
the stored record (the edge's RFC 3339 rule itself: tests/unit/test_http_timestamps.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from tests.conftest import User
from tests.e2e.stripe_helpers import CARD_OK, pay, payment_method, refund


def timestamps(body: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in body.items() if k.endswith("_at") and v is not None}


def assert_rfc3339(body: dict[str, Any]) -> None:
    stamps = timestamps(body)
    assert stamps, f"no timestamp in {body}"
    for name, value in stamps.items():
        assert "T" in value, f"{name}: {value!r} is not RFC 3339"
        assert datetime.fromisoformat(value).utcoffset() is not None, name


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
