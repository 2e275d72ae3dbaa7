"""Every user endpoint is scoped to its caller; service and admin endpoints refuse plain users.

User A owns a paid Razorpay order, a Stripe payment, a refund, a hold and an admin grant, with
amounts no one else has. User B then walks every user endpoint of the registry with A's ids: an
endpoint that takes an id answers 404/403, and no answer carries any of A's ids or amounts.

In process, through the real ``@endpoint`` wrapper on fakes (tests/unit/edge.py): who owns what
is decided by the handlers and use cases, not by the stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.registry import Auth
from tests.unit.edge import Edge, admin, service, user
from tests.unit.operations import footprint, operations, table

CARD_OK = "pm_card_visa"

GRANT, PAYMENT, REFUND, HOLD = 777_777, 4_321, 1_234, 3_333  # A's amounts, found nowhere else


@dataclass(frozen=True)
class Resources:
    """User A and what A owns."""

    owner: str  # A's uid
    order_id: str
    provider_order_id: str
    razorpay: dict[str, str]  # what Checkout handed A
    payment_intent_id: str
    refund_id: str
    hold_id: str
    invoice_id: str  # the tax invoice of A's paid order

    def secrets(self) -> set[object]:
        return {
            self.owner,
            self.order_id,
            self.provider_order_id,
            self.razorpay["razorpay_payment_id"],
            self.payment_intent_id,
            self.refund_id,
            self.hold_id,
            self.invoice_id,
            GRANT,
            PAYMENT,
            REFUND,
            HOLD,
        }


@dataclass(frozen=True)
class Probe:
    path: str
    body: dict[str, Any] | None = None
    owned: bool = True  # names one of A's resources: must be 404/403


PROBES: dict[str, Callable[[Resources], Probe]] = {
    "credits_balance": lambda a: Probe("/api/v1/credits/balance", owned=False),
    "credits_account_get": lambda a: Probe("/api/v1/credits/account", owned=False),
    "credits_account_patch": lambda a: Probe(
        "/api/v1/credits/account", {"low_balance_threshold": 42}, owned=False
    ),
    "credits_packages": lambda a: Probe("/api/v1/credits/packages", owned=False),
    "credits_purchase": lambda a: Probe(
        "/api/v1/credits/purchase", {"package_id": "starter"}, owned=False
    ),
    "credits_orders": lambda a: Probe("/api/v1/credits/orders?limit=100", owned=False),
    "payments_verify": lambda a: Probe("/api/v1/payments/verify", a.razorpay),
    "payments_status": lambda a: Probe(f"/api/v1/payments/status?order_id={a.order_id}"),
    "transactions_list": lambda a: Probe("/api/v1/transactions?limit=100", owned=False),
    "transactions_usage": lambda a: Probe("/api/v1/transactions/usage", owned=False),
    # A's PaymentIntent id has no place in this body; B pays with a card of its own.
    "stripe_payment_process": lambda a: Probe("/api/payment/process", None, owned=False),
    "stripe_payment_verify": lambda a: Probe(
        "/api/payment/verify", {"payment_intent_id": a.payment_intent_id}
    ),
    "stripe_payment_get": lambda a: Probe(f"/api/payment/{a.payment_intent_id}"),
    "stripe_refund_process": lambda a: Probe(
        "/api/refund/process", {"payment_intent_id": a.payment_intent_id, "amount": 100}
    ),
    "stripe_refund_verify": lambda a: Probe("/api/refund/verify", {"refund_id": a.refund_id}),
    "stripe_refund_get": lambda a: Probe(f"/api/refund/{a.refund_id}"),
    "devices_register": lambda a: Probe(
        "/api/v1/devices", {"token": "fcm-of-b", "platform": "ios"}, owned=False
    ),
    "invoices_list": lambda a: Probe("/api/v1/invoices?limit=100", owned=False),
    "invoices_get": lambda a: Probe(f"/api/v1/invoices/{a.invoice_id}"),
    "invoices_pdf": lambda a: Probe(f"/api/v1/invoices/{a.invoice_id}/pdf"),
    "billing_details_get": lambda a: Probe("/api/v1/billing/details", owned=False),
    "billing_details_put": lambda a: Probe(
        "/api/v1/billing/details", {"name": "B Ltd", "address": "Pune"}, owned=False
    ),
}


def scalars(value: Any) -> Iterator[object]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from scalars(item)
    else:
        yield value


@pytest.fixture
def resources_of_a(edge: Edge) -> Resources:
    a = "uid-a"
    edge.fund(a, GRANT)
    order = edge.post("/api/v1/credits/purchase", user("a"), {"package_id": "basic"})
    assert order.status_code == 201, order.text
    paid = edge.paid_razorpay_checkout(order.json()["provider_order_id"], order.json()["total"])
    assert edge.post("/api/v1/payments/verify", user("a"), paid).status_code == 200
    body = {"amount": PAYMENT, "currency": "sgd", "payment_method": CARD_OK}
    payment = edge.post("/api/payment/process", user("a"), body)
    assert payment.status_code == 200, payment.text
    pi = payment.json()["payment_intent_id"]
    refunded = edge.post("/api/refund/process", user("a"), {"payment_intent_id": pi,
                                                              "amount": REFUND})  # fmt: skip
    assert refunded.status_code == 200, refunded.text
    hold = edge.post("/api/v1/holds", service(), {"user_id": a, "service": "ai", "amount": HOLD})
    assert hold.status_code == 201, hold.text
    [invoice] = edge.get("/api/v1/invoices", user("a")).json()["data"]
    return Resources(
        a,
        order.json()["order_id"],
        order.json()["provider_order_id"],
        paid,
        pi,
        refunded.json()["refund_id"],
        hold.json()["hold_id"],
        invoice["invoice_id"],
    )


USER_OPERATIONS = [op for op in operations() if op.function.auth is Auth.USER]


def test_every_user_endpoint_has_a_probe() -> None:
    assert {op.id for op in USER_OPERATIONS} == set(PROBES)


def test_user_b_never_sees_or_touches_user_a_resources(
    edge: Edge, resources_of_a: Resources
) -> None:
    a, b = resources_of_a, user("b")
    a_before = footprint(edge, a.owner)
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for op in USER_OPERATIONS:
        probe = PROBES[op.id](a)
        body = probe.body
        if op.id == "stripe_payment_process":
            body = {"amount": 500, "currency": "sgd", "payment_method": CARD_OK}
        response = edge.request(op.method, probe.path, b, body)
        # An error may echo the id B itself sent; anything else of A's is a leak.
        sent = f"{probe.path} {json.dumps(body)}"
        secrets = {x for x in a.secrets() if not (isinstance(x, str) and x in sent)}
        leaked = secrets & set(scalars(response.json()))
        rows.append(
            (op.id, probe.path[:40], str(response.status_code), str(sorted(map(str, leaked))))
        )
        if leaked:
            wrong.append(f"{op.id}: B's answer holds A's {sorted(map(str, leaked))}")
        if probe.owned and response.status_code not in (403, 404):
            wrong.append(f"{op.id}: {response.status_code} for A's resource: {response.text}")
        if not probe.owned and response.status_code >= 500:
            wrong.append(f"{op.id}: {response.status_code} {response.text}")
    print("\n" + table(rows, ("endpoint (as B)", "path", "status", "A's data in answer")))
    assert not wrong, "\n".join(wrong)
    assert footprint(edge, a.owner) == a_before


def test_service_endpoints_refuse_user_tokens_and_admin_endpoints_need_the_claim(
    edge: Edge,
) -> None:
    plain, claimed, metering = user(), admin(), service()
    uid = "uid-alice"
    body = {"user_id": uid, "service": "ai", "amount": 10, "event_id": "e-1",
            "reason": "not allowed"}  # fmt: skip
    before = footprint(edge, uid)
    tries: list[tuple[str, str, dict[str, str], tuple[int, ...]]] = []
    for op in operations():
        if op.function.auth is Auth.SERVICE:
            tries += [(op.id, "user token", plain, (401, 403)),
                      (op.id, "admin token", claimed, (401, 403))]  # fmt: skip
        elif op.function.auth is Auth.ADMIN:
            tries += [(op.id, "user token (no claim)", plain, (403,)),
                      (op.id, "service token", metering, (401,))]  # fmt: skip
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for op_id, who, headers, allowed in tries:
        op = next(o for o in operations() if o.id == op_id)
        response = edge.request(op.method, op.path(), headers, body)
        rows.append((op_id, who, str(response.status_code), response.json()["error"]["code"]))
        if response.status_code not in allowed:
            wrong.append(f"{op_id} with a {who}: {response.status_code} {response.text}")
    print("\n" + table(rows, ("endpoint", "caller", "status", "code")))
    assert tries and not wrong, "\n".join(wrong)
    assert footprint(edge, uid) == before
