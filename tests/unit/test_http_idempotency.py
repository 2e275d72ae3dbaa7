"""Idempotency-Key on every mutating user, admin and service endpoint, over HTTP (docs/api.md).

In process, through the real ``@endpoint`` wrapper on fakes (tests/unit/edge.py): the key's rules
are the edge's; the store's own promises under races and crashes are proven on Firestore in
tests/integration/test_idempotency.py.

The operations come from the registry: a new mutating endpoint fails
``test_every_mutating_endpoint_has_a_scenario`` until it has one below. For each: the same key
and body twice → the identical answer and one effect; the same key with another body → 422; and
another caller with the same key runs afresh (keys are scoped to the caller).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from functions.registry import Auth, HttpFunction
from shared.access.auth import ServiceRole
from tests.unit.edge import REPORTS, Answer, Edge, admin, service, user
from tests.unit.operations import Callers, Operation, footprint, mutating_operations, table

CARD_OK = "pm_card_visa"


@dataclass
class World:
    edge: Edge
    callers: Callers

    @property
    def uid(self) -> str:
        return self.callers.uid

    def send(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        return self.edge.request(method, path, headers, body)

    def fund(self, credits: int = 10_000) -> None:
        self.edge.fund(self.uid, credits)

    def paid_intent(self) -> str:
        body = {"amount": 1_000, "currency": "sgd", "payment_method": CARD_OK}
        response = self.edge.post("/api/payment/process", self.callers.user, body)
        assert response.status_code == 200, response.text
        return str(response.json()["payment_intent_id"])

    def hold(self) -> str:
        self.fund()
        body = {"user_id": self.uid, "service": "ai", "amount": 100}
        placed = self.edge.post("/api/v1/holds", self.callers.service, body)
        assert placed.status_code == 201, placed.text
        return str(placed.json()["hold_id"])


@dataclass
class Request:
    path: str
    body: dict[str, Any] | None
    other_body: dict[str, Any] = field(default_factory=lambda: {"something": "else"})


def razorpay_checkout(w: World) -> Request:
    response = w.edge.post("/api/v1/credits/purchase", w.callers.user, {"package_id": "basic"})
    assert response.status_code == 201, response.text
    order = response.json()
    paid = w.edge.paid_razorpay_checkout(order["provider_order_id"], order["total"])
    return Request("/api/v1/payments/verify", paid, {**paid, "razorpay_signature": "0" * 64})


def paid_order_to_refund(w: World) -> Request:
    checkout = razorpay_checkout(w)
    verified = w.edge.post(checkout.path, w.callers.user, checkout.body)
    assert verified.status_code == 200, verified.text
    path = f"/api/v1/admin/orders/{verified.json()['order_id']}/refund"
    return Request(path, {"amount": 1_000, "reason": "once"}, {"amount": 2_000, "reason": "once"})


def refunded(w: World) -> Request:
    body = {"payment_intent_id": w.paid_intent(), "amount": 200}
    response = w.edge.post("/api/refund/process", w.callers.user, body)
    assert response.status_code == 200, response.text
    return Request("/api/refund/verify", {"refund_id": response.json()["refund_id"]})


def usage_event(w: World) -> dict[str, Any]:
    return {"user_id": w.uid, "service": "ai", "amount": 25, "event_id": uuid.uuid4().hex}


def charged_then_void(w: World) -> Request:
    event = usage_event(w)
    charged = w.edge.post("/api/v1/usage", w.callers.service, event)
    assert charged.status_code == 201, charged.text
    return Request(f"/api/v1/usage/{event['event_id']}/void", {"service": "ai"})


def _hold_action(action: str, body: dict[str, Any]) -> Callable[[World], Request]:
    def setup(w: World) -> Request:
        return Request(f"/api/v1/holds/{w.hold()}/{action}", body)

    return setup


def _with_funds(make: Callable[[World], Request]) -> Callable[[World], Request]:
    def setup(w: World) -> Request:
        w.fund()
        return make(w)

    return setup


SCENARIOS: dict[str, Callable[[World], Request]] = {
    "credits_account_patch": lambda w: Request(
        "/api/v1/credits/account", {"low_balance_threshold": 1_234}, {"low_balance_threshold": 99}
    ),
    "credits_purchase": lambda w: Request(
        "/api/v1/credits/purchase", {"package_id": "basic"}, {"package_id": "standard"}
    ),
    "payments_verify": razorpay_checkout,
    "admin_credits_grant": lambda w: Request(
        "/api/v1/admin/credits/grant", {"user_id": w.uid, "amount": 500, "reason": "once"}
    ),
    "admin_credits_adjust": lambda w: Request(
        "/api/v1/admin/credits/adjust", {"user_id": w.uid, "amount": 300, "reason": "once"}
    ),
    "admin_order_refund": paid_order_to_refund,
    "stripe_payment_process": lambda w: Request(
        "/api/payment/process",
        {
            "amount": 1_500,
            "currency": "sgd",
            "payment_method": CARD_OK,
        },
    ),
    "stripe_payment_verify": lambda w: Request(
        "/api/payment/verify", {"payment_intent_id": w.paid_intent()}
    ),
    "stripe_refund_process": lambda w: Request(
        "/api/refund/process", {"payment_intent_id": w.paid_intent(), "amount": 300}
    ),
    "stripe_refund_verify": refunded,
    "usage_record": _with_funds(lambda w: Request("/api/v1/usage", usage_event(w))),
    "usage_batch": _with_funds(
        lambda w: Request("/api/v1/usage/batch", {"events": [usage_event(w), usage_event(w)]})
    ),
    # No hold_id: without the key, a repeat would reserve a second time.
    "holds_place": _with_funds(
        lambda w: Request("/api/v1/holds", {"user_id": w.uid, "service": "ai", "amount": 100})
    ),
    "usage_void": _with_funds(charged_then_void),
    "credits_check": lambda w: Request(
        "/api/v1/credits/check", {"user_id": w.uid, "amount": 5}, {"user_id": w.uid, "amount": 6}
    ),
    "grants_expire": lambda w: Request("/api/v1/credits/expire", None),
    "holds_capture": _hold_action("capture", {"amount": 30}),
    "holds_release": _hold_action("release", {}),
    "holds_expire": lambda w: Request("/api/v1/holds/expire", None),
    "reconcile": lambda w: Request(
        "/api/v1/reconcile", {"older_than_seconds": 900, "limit": 5}, {"limit": 6}
    ),
    "devices_register": lambda w: Request(
        "/api/v1/devices", {"token": f"fcm-{uuid.uuid4().hex}", "platform": "web"}
    ),
    "billing_details_put": lambda w: Request(
        "/api/v1/billing/details",
        {"name": "Pune Analytics LLP", "address": "Pune", "state": "27"},
        {"name": "Another LLP", "address": "Pune", "state": "27"},
    ),
}
# What each first request changes in the account's footprint (the replay must change nothing).
EFFECTS: dict[str, set[str]] = {
    "credits_purchase": {"credit_orders"},
    "payments_verify": {"ledger", "tax_documents"},  # the credits and the order's invoice
    "admin_credits_grant": {"ledger"},
    "admin_credits_adjust": {"ledger"},
    # The clawback and the refund's credit note; the provider's webhooks add nothing.
    "admin_order_refund": {"ledger", "tax_documents"},
    "stripe_payment_process": {"payments"},
    "stripe_refund_process": {"refunds"},
    "usage_record": {"ledger"},
    "usage_batch": {"ledger"},
    "usage_void": {"ledger"},
    "holds_place": {"holds", "ledger"},
    "holds_capture": {"ledger"},
    "holds_release": {"ledger"},
    "devices_register": {"devices"},
    "billing_details_put": {"billing_details"},
}
OPERATIONS = mutating_operations()


def test_every_mutating_endpoint_has_a_scenario() -> None:
    assert {op.id for op in OPERATIONS} == set(SCENARIOS)


def other_caller(function: HttpFunction) -> dict[str, str] | None:
    """Another caller of the same kind: a new user, a new admin, another metering service.

    None for the scheduler's endpoints: one scheduler account is allowed.
    """
    if function.auth is Auth.USER:
        return user(uuid.uuid4().hex)
    if function.auth is Auth.ADMIN:
        return admin(uuid.uuid4().hex)
    if function.role is ServiceRole.METERING:
        return service(REPORTS)
    return None


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_same_key_replays_once_other_body_is_422_and_keys_are_per_caller(
    op: Operation, edge: Edge
) -> None:
    world = World(edge, Callers())
    send = world.send
    request = SCENARIOS[op.id](world)
    headers = {**world.callers.headers(op.function), "Idempotency-Key": f"key-{op.id}"}
    before = footprint(edge, world.uid)

    first = send(op.method, request.path, headers, request.body)
    after_first = footprint(edge, world.uid)
    second = send(op.method, request.path, headers, request.body)
    after_second = footprint(edge, world.uid)
    reused = send(op.method, request.path, headers, request.other_body)

    # Another caller with A's key runs afresh; a third with another body is not refused as reuse
    # (services: only two are allow-listed here, so that second check is for users and admins).
    key = {"Idempotency-Key": f"key-{op.id}"}
    edge.clock.now += timedelta(seconds=1)  # a fresh run answers with its own time
    other = other_caller(op.function)
    theirs = (
        send(op.method, request.path, {**other, **key}, request.body) if other is not None else None
    )
    third = op.function.auth is not Auth.SERVICE
    theirs_other_body = (
        send(
            op.method,
            request.path,
            {**(other_caller(op.function) or {}), **key},
            request.other_body,
        )
        if third
        else None
    )
    print("\n" + table(
        [(op.id, "first", str(first.status_code), "-"),
         (op.id, "same key, same body", str(second.status_code),
          second.headers.get("Idempotent-Replayed", "-")),
         (op.id, "same key, other body", str(reused.status_code), "-"),
         (op.id, "other caller, same key", str(theirs.status_code if theirs else "-"),
          theirs.headers.get("Idempotent-Replayed", "-") if theirs else "-"),
         (op.id, "third caller, same key, other body",
          str(theirs_other_body.status_code if theirs_other_body is not None else "-"), "-")],
        ("endpoint", "request", "status", "replayed"),
    ))  # fmt: skip
    assert first.status_code < 300, first.text
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert after_second == after_first, "the replay had an effect of its own"
    changed = {k for k in before if before[k] != after_first[k]}
    print(f"effect of the first request on the account: {sorted(changed) or 'none'}")
    assert changed == EFFECTS.get(op.id, set())

    assert reused.status_code == 422, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"

    if theirs is not None:
        assert "Idempotent-Replayed" not in theirs.headers, theirs.text
    if theirs is not None and op.function.auth is not Auth.SERVICE:  # services share resources
        assert theirs.json() != first.json()
    if theirs_other_body is not None:
        assert theirs_other_body.status_code != 422, theirs_other_body.text


def test_idempotency_keys_expire_through_a_ttl_field() -> None:
    """Firestore deletes records after 24 h: the TTL field is declared for idempotency_keys."""
    import json
    from pathlib import Path

    from shared.access.idempotency import RETENTION

    indexes = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
    declared = json.loads(indexes.read_text())["fieldOverrides"]
    assert {"collectionGroup": "idempotency_keys", "fieldPath": "expires_at", "ttl": True,
            "indexes": []} in declared  # fmt: skip
    assert RETENTION.total_seconds() == 24 * 3600
