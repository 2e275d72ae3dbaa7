"""Every documented answer is what the service sends: each path's success answer, taken live
from the gateway, validates against the schema the served OpenAPI document publishes for it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jsonschema_rs
import requests
import stripe

from devstack.stack import METERING_SERVICE_EMAIL, SCHEDULER_SERVICE_EMAIL, Stack
from tests.conftest import RazorpaySandbox, User, make_admin, sign_up
from tests.e2e.stripe_helpers import CARD_OK, payment_method
from tests.e2e.test_credit_purchases import captured_event, signed_post


class Checker:
    """Calls the gateway and validates each success answer against the served document."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.document: dict[str, Any] = requests.get(
            f"{gateway}/api/v1/openapi.json", timeout=30
        ).json()
        self.checked: set[tuple[str, str]] = set()

    def call(
        self,
        method: str,
        path: str,
        documented: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call ``path`` and validate its 2xx answer against ``documented`` (default: path)."""
        response = requests.request(
            method, f"{self.gateway}{path}", headers=headers, timeout=30, **kwargs
        )
        assert 200 <= response.status_code < 300, f"{method} {path}: {response.text}"
        self.validate(method, documented or path, response)
        body: dict[str, Any] = response.json()
        return body

    def validate(self, method: str, path: str, response: requests.Response) -> None:
        operation = self.document["paths"][path][method.lower()]
        documented = operation["responses"][str(response.status_code)]
        if "application/pdf" in documented["content"]:  # a document answered as itself
            assert response.headers["Content-Type"] == "application/pdf", response.text
            assert response.content.startswith(b"%PDF-")
            self.checked.add((method, path))
            return
        schema = documented["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": self.document["components"]}, validate_formats=True
        )
        errors = [str(e) for e in validator.iter_errors(response.json())]
        assert not errors, f"{method} {path} answered off its schema: {errors[:3]}"
        self.checked.add((method, path))


def stripe_signed(secret: str, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    return {
        "data": body.encode(),
        "headers": {"Stripe-Signature": header, "Content-Type": "application/json"},
    }


def test_every_documented_success_answer_matches_its_published_schema(
    stack: Stack,
    user: User,
    razorpay_sandbox: RazorpaySandbox,
    stripe_client: Any,
    service_tokens: Any,
) -> None:
    check = Checker(stack.gateway_url)
    me = user.headers
    metering = {
        "Authorization": "Bearer "
        + service_tokens.mint(METERING_SERVICE_EMAIL, stack.service_audience)
    }
    scheduler = {
        "Authorization": "Bearer "
        + service_tokens.mint(SCHEDULER_SERVICE_EMAIL, stack.service_audience)
    }

    check.call("GET", "/api/v1/openapi.json")
    for path in ("/api/v1/health", "/api/v1/health/ready", "/api/v1/health/live", "/health"):
        check.call("GET", path)

    # Credits bought through Razorpay: purchase, pay in Checkout, verify, then read it all.
    check.call("GET", "/api/v1/credits/packages", headers=me)
    order = check.call(
        "POST", "/api/v1/credits/purchase", headers=me, json={"amount": 100_00, "currency": "INR"}
    )
    paid = razorpay_sandbox.pay(order["provider_order_id"])
    check.call("POST", "/api/v1/payments/verify", headers=me, json=paid)
    check.call("GET", "/api/v1/payments/status", headers=me, params={"order_id": order["order_id"]})
    payment = razorpay_sandbox.client.payment.fetch(paid["razorpay_payment_id"])
    receipt = signed_post(
        stack,
        captured_event(payment),
        stack.razorpay_webhook_secret,
        f"evt_{uuid.uuid4().hex[:16]}",
    )
    assert receipt.status_code == 200, receipt.text
    check.validate("POST", "/api/v1/webhooks/razorpay", receipt)
    check.call("GET", "/api/v1/credits/orders", headers=me)
    check.call("GET", "/api/v1/credits/balance", headers=me)
    check.call("GET", "/api/v1/credits/account", headers=me)
    check.call("PATCH", "/api/v1/credits/account", headers=me, json={"low_balance_threshold": 1000})
    check.call("POST", "/api/v1/devices", headers=me, json={"token": f"fcm-{uuid.uuid4().hex}"})

    # Another service spends the credits: usage, a batch, holds; the scheduler's jobs.
    event = {"user_id": user.uid, "service": "ai", "amount": 100}
    charged = uuid.uuid4().hex
    check.call("POST", "/api/v1/usage", headers=metering, json={**event, "event_id": charged})
    check.call(
        "POST",
        f"/api/v1/usage/{charged}/void",
        "/api/v1/usage/{event_id}/void",
        headers=metering,
        json={"service": "ai"},
    )
    check.call(
        "POST", "/api/v1/credits/check", headers=metering, json={"user_id": user.uid, "amount": 5}
    )
    too_much = {**event, "amount": 10**12, "event_id": uuid.uuid4().hex}  # fails alone
    batch = [{**event, "event_id": uuid.uuid4().hex}, too_much]
    answer = check.call("POST", "/api/v1/usage/batch", headers=metering, json={"events": batch})
    assert (answer["charged"], answer["failed"]) == (1, 1)
    hold = check.call("POST", "/api/v1/holds", headers=metering, json=event)
    check.call(
        "POST",
        f"/api/v1/holds/{hold['hold_id']}/capture",
        "/api/v1/holds/{hold_id}/capture",
        headers=metering,
        json={"amount": 50},
    )
    other = check.call("POST", "/api/v1/holds", headers=metering, json=event)
    check.call(
        "POST",
        f"/api/v1/holds/{other['hold_id']}/release",
        "/api/v1/holds/{hold_id}/release",
        headers=metering,
    )
    check.call("POST", "/api/v1/holds/expire", headers=scheduler)
    check.call("POST", "/api/v1/credits/expire", headers=scheduler)
    check.call("POST", "/api/v1/reconcile", headers=scheduler, json={})
    check.call("GET", "/api/v1/transactions", headers=me)
    check.call("GET", "/api/v1/transactions/usage", headers=me)

    # An admin grants, adjusts, and refunds part of the Razorpay purchase.
    admin = make_admin(stack, sign_up(stack)).headers
    change = {"user_id": user.uid, "amount": 500, "reason": "schema check"}
    check.call("POST", "/api/v1/admin/credits/grant", headers=admin, json=change)
    check.call("POST", "/api/v1/admin/credits/adjust", headers=admin, json=change)
    check.call("GET", "/api/v1/admin/accounts", headers=admin, params={"user_id": user.uid})
    check.call("GET", "/api/v1/admin/transactions", headers=admin, params={"user_id": user.uid})
    check.call(
        "POST",
        f"/api/v1/admin/orders/{order['order_id']}/refund",
        "/api/v1/admin/orders/{order_id}/refund",
        headers=admin,
        json={"amount": 100, "reason": "schema check"},
    )
    check.call(
        "GET",
        f"/api/v1/admin/orders/{order['order_id']}",
        "/api/v1/admin/orders/{order_id}",
        headers=admin,
    )

    # The buyer's billing details, the invoice and the refund's credit note, as JSON and PDF.
    details = {"name": "Pune LLP", "address": "Pune", "gstin": "27AAPFU0939F1ZV"}
    check.call("PUT", "/api/v1/billing/details", headers=me, json=details)
    check.call("GET", "/api/v1/billing/details", headers=me)
    invoices = check.call("GET", "/api/v1/invoices", headers=me)["data"]
    for invoice in invoices:
        one = f"/api/v1/invoices/{invoice['invoice_id']}"
        check.call("GET", one, "/api/v1/invoices/{invoice_id}", headers=me)
        pdf = requests.get(f"{check.gateway}{one}/pdf", headers=me, timeout=30)
        check.validate("GET", "/api/v1/invoices/{invoice_id}/pdf", pdf)

    # A card payment through Stripe, its refund, and Stripe's webhook on both of its paths.
    pm = payment_method(stripe_client, CARD_OK)
    card = check.call(
        "POST",
        "/api/payment/process",
        headers=me,
        json={"amount": 1000, "currency": "sgd", "payment_method": pm},
    )
    pi = card["payment_intent_id"]
    check.call("GET", f"/api/payment/{pi}", "/api/payment/{payment_intent_id}", headers=me)
    check.call("POST", "/api/payment/verify", headers=me, json={"payment_intent_id": pi})
    refund = check.call(
        "POST", "/api/refund/process", headers=me, json={"payment_intent_id": pi, "amount": 100}
    )
    rid = refund["refund_id"]
    check.call("GET", f"/api/refund/{rid}", "/api/refund/{refund_id}", headers=me)
    check.call("POST", "/api/refund/verify", headers=me, json={"refund_id": rid})
    for path in ("/api/webhook", "/api/v1/webhooks/stripe"):
        unhandled = {
            "id": f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_schema", "object": "customer"}},
        }
        check.call("POST", path, **stripe_signed(stack.stripe_webhook_secret, unhandled))

    documented = {
        (method.upper(), path) for path, item in check.document["paths"].items() for method in item
    }
    assert documented - check.checked == set()
