"""Each feature's refused requests at the HTTP edge: a 4xx naming the field, nothing changed.

Moved from the features' end-to-end files (tests/e2e keeps one happy and one unhappy path per
feature on the stack); in process, through the real ``@endpoint`` wrapper and the gateway's
routing on fakes (tests/unit/edge.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.unit.edge import Edge, service, user

# --- credit account and history ----------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"low_balance_threshold": "100"}, {"low_balance_threshold": -1}, {}, {"x": 1}]
)
def test_bad_threshold_is_400_naming_the_field(edge: Edge, body: dict[str, Any]) -> None:
    response = edge.request("PATCH", "/api/v1/credits/account", user(), body)
    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]
    assert set(fields) & {"low_balance_threshold", "x"}
    assert edge.accounts.settings("uid-alice") == {}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "nonsense"}, "type"),
        ({"from": "yesterday"}, "from"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"from": "2030-01-02", "to": "2030-01-01"}, "to"),
    ],
)
def test_bad_transaction_queries_are_400(edge: Edge, params: dict[str, Any], field: str) -> None:
    """(Cursors are read by the Firestore ledger adapter: tests/e2e/test_bad_input.py.)"""
    response = edge.get(f"/api/v1/transactions?{urlencode(params)}", user())
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


# --- usage -------------------------------------------------------------------------------


def test_a_batch_over_100_events_is_refused(edge: Edge) -> None:
    edge.fund("someone")
    events = [
        {"user_id": "someone", "service": "chat", "amount": 1, "event_id": f"e{n}"}
        for n in range(101)
    ]
    response = edge.post("/api/v1/usage/batch", service(), {"events": events})
    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]["fields"]
    assert edge.ledger.head("someone").seq == 1


# --- credit purchases ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 9_999, "currency": "inr"}, "amount"),  # ₹99.99
        ({"amount": 5_000_001, "currency": "inr"}, "amount"),  # ₹50,000.01
        ({"package_id": "platinum"}, "package_id"),
        ({"amount": "10000", "currency": "inr"}, "amount"),
        ({"amount": 10000.5, "currency": "inr"}, "amount"),
        ({"amount": True, "currency": "inr"}, "amount"),
        ({"amount": 10_000}, "currency"),
        ({"amount": 10_000, "currency": "eur"}, "currency"),  # no rate configured for eur
        ({}, "package_id"),
        ({"package_id": "basic", "amount": 50_000, "currency": "inr"}, "package_id"),
        ({"package_id": 7}, "package_id"),
        ({"package_id": "basic", "provider": "paypal"}, "provider"),
        ({"package_id": "basic", "price": 1}, "price"),
    ],
)
def test_bad_purchase_requests_name_the_field(edge: Edge, body: dict[str, Any], field: str) -> None:
    response = edge.post("/api/v1/credits/purchase", user(), body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert field in response.json()["error"]["details"]["fields"]
    assert edge.orders.orders == {}
    assert edge.razorpay.orders == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "razorpay_order_id"),
        ({"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_x"}, "razorpay_signature"),
        (
            {"razorpay_order_id": 1, "razorpay_payment_id": "pay_x", "razorpay_signature": "s"},
            "razorpay_order_id",
        ),
    ],
)
def test_bad_verify_requests_name_the_field(edge: Edge, body: dict[str, Any], field: str) -> None:
    response = edge.post("/api/v1/payments/verify", user(), body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_custom_amount_is_priced_by_the_server(edge: Edge) -> None:
    response = edge.post("/api/v1/credits/purchase", user(), {"amount": 123_456, "currency": "INR"})
    assert response.status_code == 201, response.text
    checkout = response.json()
    assert (checkout["amount"], checkout["tax"], checkout["total"]) == (123_456, 22_222, 145_678)
    assert (checkout["credits"], checkout["bonus_credits"]) == (123_456, 18_518)  # 15 %, floor


# --- devices -------------------------------------------------------------------------------


def test_bad_device_tokens_and_service_callers_are_refused(edge: Edge) -> None:
    def register(headers: dict[str, str], **body: Any) -> int:
        return edge.post("/api/v1/devices", headers, body).status_code

    assert register(user(), token="has space") == 400
    assert register(user(), token="t", platform="fax") == 400
    assert register({}, token="t") == 401
    assert register(service(), token="t") == 401
    assert edge.devices.devices == {}


# --- routing -------------------------------------------------------------------------------


def test_unknown_paths_and_methods_get_json_errors(edge: Edge) -> None:
    missing = edge.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"

    wrong_method = edge.post("/api/v1/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "GET"
