"""Every user endpoint is scoped to its caller; service and admin endpoints refuse plain users.

User A owns a paid Razorpay order, a Stripe payment, a refund, a hold and an admin grant, with
amounts no one else has. User B then walks every user endpoint of the registry with A's ids: an
endpoint that takes an id answers 404/403, and no answer carries any of A's ids or amounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.stack import Stack
from functions.registry import Auth
from shared.ledger.entries import EntryType, Posting
from tests.conftest import RazorpaySandbox, User, make_admin, sign_up
from tests.e2e.abuse import footprint, operations, send, service_headers_for, table
from tests.e2e.stripe_helpers import CARD_OK, pay, payment_method, refund

pytestmark = pytest.mark.stack

GRANT, PAYMENT, REFUND, HOLD = 777_777, 4_321, 1_234, 3_333  # A's amounts, found nowhere else


@dataclass(frozen=True)
class Resources:
    """User A and what A owns."""

    owner: User
    order_id: str
    provider_order_id: str
    razorpay: dict[str, str]  # what Checkout handed A
    payment_intent_id: str
    refund_id: str
    hold_id: str
    invoice_id: str  # the tax invoice of A's paid order

    def secrets(self) -> set[object]:
        return {
            self.owner.uid,
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
def resources_of_a(
    stack_env: Stack,
    gateway_ledger: Any,
    stripe_client: Any,
    razorpay_sandbox: RazorpaySandbox,
    service_headers: dict[str, str],
) -> Resources:
    a, gateway = sign_up(stack_env), stack_env.gateway_url
    gateway_ledger.append(a.uid, [Posting(EntryType.GRANT, GRANT, actor="test")])
    order = send(gateway, "POST", "/api/v1/credits/purchase", a.headers, {"package_id": "basic"})
    assert order.status_code == 201, order.text
    paid = razorpay_sandbox.pay(order.json()["provider_order_id"])
    assert send(gateway, "POST", "/api/v1/payments/verify", a.headers, paid).status_code == 200
    payment = pay(gateway, a, payment_method(stripe_client, CARD_OK), amount=PAYMENT)
    assert payment.status_code == 200, payment.text
    pi = payment.json()["payment_intent_id"]
    refunded = refund(gateway, a, pi, REFUND)
    assert refunded.status_code == 200, refunded.text
    body = {"user_id": a.uid, "service": "ai", "amount": HOLD}
    hold = send(gateway, "POST", "/api/v1/holds", service_headers, body)
    assert hold.status_code == 201, hold.text
    invoices = send(gateway, "GET", "/api/v1/invoices", a.headers)
    [invoice] = invoices.json()["data"]
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
    stack_env: Stack,
    resources_of_a: Resources,
    stack_firestore: Any,
    gateway_ledger: Any,
    stripe_client: Any,
) -> None:
    a, b, gateway = resources_of_a, sign_up(stack_env), stack_env.gateway_url
    a_before = footprint(stack_firestore, gateway_ledger, a.owner.uid)
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for op in USER_OPERATIONS:
        probe = PROBES[op.id](a)
        body = probe.body
        if op.id == "stripe_payment_process":
            pm = payment_method(stripe_client, CARD_OK)
            body = {"amount": 500, "currency": "sgd", "payment_method": pm}
        response = send(gateway, op.method, probe.path, b.headers, body)
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
    assert footprint(stack_firestore, gateway_ledger, a.owner.uid) == a_before


def test_service_endpoints_refuse_user_tokens_and_admin_endpoints_need_the_claim(
    stack_env: Stack, gateway: str, user: User, stack_firestore: Any, gateway_ledger: Any
) -> None:
    admin = make_admin(stack_env, sign_up(stack_env))
    service = service_headers_for(stack_env)
    body = {"user_id": user.uid, "service": "ai", "amount": 10, "event_id": "e-1",
            "reason": "not allowed"}  # fmt: skip
    before = footprint(stack_firestore, gateway_ledger, user.uid)
    tries: list[tuple[str, str, dict[str, str], tuple[int, ...]]] = []
    for op in operations():
        if op.function.auth is Auth.SERVICE:
            tries += [(op.id, "user token", user.headers, (401, 403)),
                      (op.id, "admin token", admin.headers, (401, 403))]  # fmt: skip
        elif op.function.auth is Auth.ADMIN:
            tries += [(op.id, "user token (no claim)", user.headers, (403,)),
                      (op.id, "service token", service, (401,))]  # fmt: skip
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for op_id, who, headers, allowed in tries:
        op = next(o for o in operations() if o.id == op_id)
        response = send(gateway, op.method, op.path(), headers, body)
        rows.append((op_id, who, str(response.status_code), response.json()["error"]["code"]))
        if response.status_code not in allowed:
            wrong.append(f"{op_id} with a {who}: {response.status_code} {response.text}")
    print("\n" + table(rows, ("endpoint", "caller", "status", "code")))
    assert tries and not wrong, "\n".join(wrong)
    assert footprint(stack_firestore, gateway_ledger, user.uid) == before
