"""Every timestamp a client reads is RFC 3339 in UTC with a ``T`` (api.md), payments included.

The HTTP edge writes every timestamp (``functions.http.json_text``): proven in process, through
the real ``@endpoint`` wrapper on fakes (tests/unit/edge.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.unit.edge import Answer, Edge, user

CARD_OK = "pm_card_visa"


def timestamps(body: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in body.items() if k.endswith("_at") and v is not None}


def assert_rfc3339(body: dict[str, Any]) -> None:
    stamps = timestamps(body)
    assert stamps, f"no timestamp in {body}"
    for name, value in stamps.items():
        assert "T" in value, f"{name}: {value!r} is not RFC 3339"
        assert datetime.fromisoformat(value).utcoffset() is not None, name


def pay(edge: Edge, headers: dict[str, str] | None = None) -> Answer:
    body = {"amount": 1000, "currency": "sgd", "payment_method": CARD_OK}
    paid = edge.post("/api/payment/process", headers or user(), body)
    assert paid.status_code == 200, paid.text
    return paid


def refund(edge: Edge, pi: str, amount: int) -> Answer:
    refunded = edge.post("/api/refund/process", user(), {"payment_intent_id": pi, "amount": amount})
    assert refunded.status_code == 200, refunded.text
    return refunded


def test_payments_and_refunds_answer_rfc3339_timestamps(edge: Edge) -> None:
    pi = pay(edge).json()["payment_intent_id"]
    assert_rfc3339(edge.get(f"/api/payment/{pi}", user()).json())
    for value in timestamps(refund(edge, pi, 100).json()).values():
        assert "T" in value


def test_a_replayed_answer_writes_its_timestamps_as_the_first_did(edge: Edge) -> None:
    headers = {**user(), "Idempotency-Key": "replay-stamps"}
    first, again = pay(edge, headers), pay(edge, headers)
    assert again.headers.get("Idempotent-Replayed") == "true", again.text
    assert_rfc3339(again.json())
    assert timestamps(again.json()) == timestamps(first.json())
