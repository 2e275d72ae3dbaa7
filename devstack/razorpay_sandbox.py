"""A local Razorpay sandbox: the subset of Razorpay's REST API and webhooks this service uses.

For dev and tests only; it listens on 127.0.0.1 and keeps everything in memory. Entities follow
Razorpay's documented JSON (orders, payments, refunds, webhook events). Refunds honour
Razorpay's ``X-Refund-Idempotency`` header (the same key and body get the first answer again,
with no second refund and no second webhook). Endpoints under ``/_sandbox/`` stand in for what a
customer does in Checkout (and a bank does to a refund it cannot pay), and let tests send,
replay and inspect webhooks; ``/checkout.razorpay.com/v1/checkout.js`` is a stand-in for
Checkout's script (devstack/razorpay_checkout.js) that pays through them from a browser;
``POST /_sandbox/faults`` makes the next N API calls fail (a provider outage for fault tests).
Run: ``python -m devstack.razorpay_sandbox --port N --key-id K --key-secret S``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, make_server

Entity = dict[str, Any]
_ALNUM = string.ascii_letters + string.digits
WEBHOOK_TIMEOUT_SECONDS = 5.0
MIN_ORDER_AMOUNT = 100
CHECKOUT_SCRIPT = Path(__file__).with_name("razorpay_checkout.js")
# What the Checkout stand-in calls from the page's origin (a browser asks CORS first).
CHECKOUT_CALLS = ("/_sandbox/orders/",)
# Razorpay's refund idempotency: a key of 10+ letters, digits, hyphens or underscores; the same
# key and body get the first answer again, another body with it is refused.
REFUND_IDEMPOTENCY_HEADER = "X-Refund-Idempotency"
REFUND_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{10,}$")
REFUND_FIELDS = frozenset({"amount", "speed", "notes", "receipt"})
REFUND_SPEEDS = {"normal": "normal", "optimum": "instant"}  # requested → processed
MAX_NOTES, MAX_NOTE_LENGTH = 15, 256
SANDBOX_FIELDS = frozenset({"webhooks"})  # the sandbox's own switch, never Razorpay's
# Where a dispute goes after ``open``, each with its documented ``payment.dispute.<status>`` event.
DISPUTE_MOVES = ("under_review", "action_required", "won", "lost", "closed")


def new_id(prefix: str) -> str:
    """An id shaped like Razorpay's: a prefix and 14 random alphanumerics."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(14))


def sign(secret: str, message: str) -> str:
    """Hex HMAC-SHA256, as Razorpay signs checkout results and webhook bodies."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class ApiError(Exception):
    """An error rendered in Razorpay's shape: {"error": {"code", "description", ...}}."""

    def __init__(
        self,
        description: str,
        status: int = 400,
        field_name: str | None = None,
        reason: str = "input_validation_failed",
    ) -> None:
        super().__init__(description)
        self.description, self.status, self.field_name, self.reason = (
            description,
            status,
            field_name,
            reason,
        )

    def body(self) -> Entity:
        error: Entity = {
            "code": "BAD_REQUEST_ERROR",
            "description": self.description,
            "source": "business",
            "step": "payment_initiation",
            "reason": self.reason,
            "metadata": {},
        }
        if self.status == 401:
            error.update(source="NA", step="NA", reason="NA")
        if self.field_name:
            error["field"] = self.field_name
        return {"error": error}


def _notes(value: object) -> object:
    # Razorpay renders empty notes as [] (a PHP empty array) and non-empty ones as an object.
    return value if isinstance(value, dict) and value else []


def _amount(value: object, name: str = "amount") -> int:
    if isinstance(value, str) and value.isdigit():  # form-encoded requests carry strings
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"The {name} must be an integer.", field_name=name)
    return value


@dataclass
class SentWebhook:
    event_id: str
    event: str
    body: str
    signature: str
    status_code: int | None = None
    error: str | None = None

    def as_dict(self) -> Entity:
        return {
            "event_id": self.event_id,
            "event": self.event,
            "body": self.body,
            "signature": self.signature,
            "status_code": self.status_code,
            "error": self.error,
        }


@dataclass
class Faults:
    """Injected failures: the next ``remaining`` API calls (``/v1/...``) answer ``status``.

    ``path_prefix`` narrows them to calls whose path starts with it (e.g. ``/v1/payments``).
    """

    remaining: int = 0
    status: int = 500
    path_prefix: str = "/v1/"
    failed: int = 0  # how many calls the faults have failed so far

    def take(self, path: str) -> int | None:
        """Return the status to fail this call with, or None to serve it."""
        if self.remaining <= 0 or not path.startswith(self.path_prefix):
            return None
        self.remaining -= 1
        self.failed += 1
        return self.status

    def as_dict(self) -> Entity:
        return {
            "fail_next": self.remaining,
            "status": self.status,
            "path_prefix": self.path_prefix,
            "failed": self.failed,
        }


def _fault_body(status: int) -> Entity:
    """Razorpay's body for a failure on its side (the SDK raises ServerError/GatewayError)."""
    code = "GATEWAY_ERROR" if status in (502, 504) else "SERVER_ERROR"
    return {
        "error": {
            "code": code,
            "description": "The server encountered an error. The "
            "incident has been reported to admins.",
            "source": "NA",
            "step": "NA",
            "reason": "NA",
            "metadata": {},
        }
    }


@dataclass
class Sandbox:
    """In-memory Razorpay state, guarded by one lock."""

    key_id: str
    key_secret: str
    webhook_url: str | None = None
    webhook_secret: str | None = None
    account_id: str = field(default_factory=lambda: new_id("acc_"))
    orders: dict[str, Entity] = field(default_factory=dict)
    payments: dict[str, Entity] = field(default_factory=dict)
    refunds: dict[str, Entity] = field(default_factory=dict)
    disputes: dict[str, Entity] = field(default_factory=dict)
    # X-Refund-Idempotency key → (payment id and body of the first request, its answer)
    refund_answers: dict[str, tuple[str, Entity]] = field(default_factory=dict)
    sent: list[SentWebhook] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _queue: deque[SentWebhook] = field(default_factory=deque)
    _pending: threading.Condition = field(default_factory=threading.Condition)
    _worker: threading.Thread | None = None
    faults: Faults = field(default_factory=Faults)

    # ---- entities -------------------------------------------------------------------------
    def _get(self, table: dict[str, Entity], entity_id: str) -> Entity:
        found = table.get(entity_id)
        if found is None:
            raise ApiError("The id provided does not exist", field_name="id")
        return found

    def order(self, order_id: str) -> Entity:
        return self._get(self.orders, order_id)

    def payment(self, payment_id: str) -> Entity:
        return self._get(self.payments, payment_id)

    def refund(self, refund_id: str) -> Entity:
        return self._get(self.refunds, refund_id)

    def dispute(self, dispute_id: str) -> Entity:
        return self._get(self.disputes, dispute_id)

    def create_order(self, data: Entity) -> Entity:
        if "amount" not in data:
            raise ApiError("amount: is required.", field_name="amount")
        amount = _amount(data["amount"])
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency:
            raise ApiError("The currency field is required.", field_name="currency")
        if amount < MIN_ORDER_AMOUNT:
            raise ApiError(
                f"The amount must be at least {currency.upper()} 1.00", field_name="amount"
            )
        receipt = data.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise ApiError(
                "The receipt may not be greater than 40 characters.", field_name="receipt"
            )
        if data.get("unique_receipt") and any(
            o["receipt"] == receipt for o in self.orders.values()
        ):
            raise ApiError("Order receipt should be unique.", field_name="receipt")
        order: Entity = {
            "id": new_id("order_"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency.upper(),
            "receipt": receipt,
            "offer_id": data.get("offer_id"),
            "status": "created",
            "attempts": 0,
            "notes": _notes(data.get("notes")),
            "created_at": int(time.time()),
        }
        if "partial_payment" in data:
            order["partial_payment"] = bool(data["partial_payment"])
        self.orders[order["id"]] = order
        return order

    def order_payments(self, order_id: str) -> Entity:
        self.order(order_id)
        items = [p for p in self.payments.values() if p["order_id"] == order_id]
        return {"entity": "collection", "count": len(items), "items": items}

    def new_payment(self, order: Entity, data: Entity, late: bool = False) -> Entity:
        # ``late``: an attempt begun before the order was paid that the bank authorises after
        # (Razorpay then holds two payments for one order: the second is owed back).
        if order["status"] == "paid" and not late:
            raise ApiError("Order has already been paid", field_name="order_id")
        if any(
            p["order_id"] == order["id"] and p["status"] == "authorized"
            for p in self.payments.values()
        ):
            raise ApiError(
                "Order has an authorized payment; capture it or let it lapse", field_name="order_id"
            )
        amount = order["amount_due"] or order["amount"]
        if order.get("partial_payment") and "amount" in data:
            amount = _amount(data["amount"])
            if not 0 < amount <= order["amount_due"]:
                raise ApiError("The amount must not exceed the amount due", field_name="amount")
        method = str(data.get("method", "card"))
        card_id = new_id("card_") if method == "card" else None
        payment: Entity = {
            "id": new_id("pay_"),
            "entity": "payment",
            "amount": amount,
            "currency": order["currency"],
            "status": "created",
            "order_id": order["id"],
            "invoice_id": None,
            "international": False,
            "method": method,
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            "description": data.get("description"),
            "card_id": card_id,
            "bank": None,
            "wallet": None,
            "vpa": None,
            "email": str(data.get("email", "void@razorpay.com")),
            "contact": str(data.get("contact", "+919000090000")),
            "notes": _notes(data.get("notes")),
            "fee": None,
            "tax": None,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "acquirer_data": {},
            "created_at": int(time.time()),
        }
        if card_id is not None:
            payment["card"] = {
                "id": card_id,
                "entity": "card",
                "name": "",
                "last4": "1111",
                "network": "Visa",
                "type": "credit",
                "issuer": None,
                "international": False,
                "emi": False,
                "sub_type": "consumer",
                "token_iin": None,
            }
        order["attempts"] += 1
        if order["status"] != "paid":  # a late attempt leaves a paid order paid
            order["status"] = "attempted"
        self.payments[payment["id"]] = payment
        return payment

    def authorize(self, payment: Entity) -> None:
        payment["status"] = "authorized"
        payment["acquirer_data"] = {
            "auth_code": "".join(secrets.choice(string.digits) for _ in range(6))
        }

    def capture(self, payment: Entity, data: Entity) -> Entity:
        if payment["status"] != "authorized":
            if payment["captured"]:
                raise ApiError("This payment has already been captured")
            raise ApiError(
                "Only payments which have been authorized and not yet captured can be captured"
            )
        if _amount(data.get("amount")) != payment["amount"]:
            raise ApiError(
                "Capture amount must be equal to the amount authorized", field_name="amount"
            )
        currency = data.get("currency")
        if currency is not None and str(currency).upper() != payment["currency"]:
            raise ApiError(
                "The currency should be same as the payment currency", field_name="currency"
            )
        fee = payment["amount"] * 236 // 10000  # 2% fee plus 18% GST on it
        payment.update(status="captured", captured=True, fee=fee, tax=fee - fee * 100 // 118)
        order = self.orders.get(payment["order_id"] or "")
        if order is not None and order["status"] != "paid":
            order["amount_paid"] += payment["amount"]
            order["amount_due"] = order["amount"] - order["amount_paid"]
            if order["amount_due"] == 0:
                order["status"] = "paid"
        return payment

    def fail(self, payment: Entity, data: Entity) -> Entity:
        payment.update(
            status="failed",
            error_code=str(data.get("error_code", "BAD_REQUEST_ERROR")),
            error_description=str(data.get("error_description", "Payment failed")),
            error_source=str(data.get("error_source", "customer")),
            error_step=str(data.get("error_step", "payment_authentication")),
            error_reason=str(data.get("error_reason", "payment_failed")),
        )
        return payment

    def replayed_refund(self, key: str, payment_id: str, data: Entity) -> Entity | None:
        """The first answer to this idempotency key, or None for a new key (checked here)."""
        if not REFUND_IDEMPOTENCY_KEY.match(key):
            raise ApiError(
                "The idempotency key must be at least 10 characters long and contain "
                "only alphabets, numbers, hyphens and underscores.",
                field_name=REFUND_IDEMPOTENCY_HEADER,
            )
        first = self.refund_answers.get(key)
        if first is None:
            return None
        if first[0] != _refund_request(payment_id, data):
            raise ApiError(
                "Different request with the same idempotency key has already been processed.",
                reason="NA",
            )
        return copy.deepcopy(first[1])

    def remember_refund(self, key: str, payment_id: str, data: Entity, answer: Entity) -> None:
        self.refund_answers[key] = (_refund_request(payment_id, data), copy.deepcopy(answer))

    def create_refund(self, payment: Entity, data: Entity) -> Entity:
        unknown = sorted(set(data) - REFUND_FIELDS - SANDBOX_FIELDS)
        if unknown:
            raise ApiError(
                f"{', '.join(unknown)} is/are not required and should not be sent",
                field_name=unknown[0],
            )
        speed = str(data.get("speed", "normal"))
        if speed not in REFUND_SPEEDS:
            raise ApiError("The selected speed is invalid.", field_name="speed")
        notes = data.get("notes") or {}
        if (
            not isinstance(notes, dict)
            or len(notes) > MAX_NOTES
            or any(len(str(v)) > MAX_NOTE_LENGTH for v in notes.values())
        ):
            raise ApiError(
                f"notes: at most {MAX_NOTES} pairs of at most {MAX_NOTE_LENGTH} characters each",
                field_name="notes",
            )
        if not payment["captured"]:
            raise ApiError(
                "The payment has not been captured, only captured payments can be refunded",
                field_name="id",
            )
        remaining = payment["amount"] - payment["amount_refunded"]
        if remaining == 0:
            raise ApiError("The payment has been fully refunded already")
        amount = _amount(data["amount"]) if data.get("amount") is not None else remaining
        if amount < 1:
            raise ApiError(
                f"The amount must be at least {payment['currency']} 0.01", field_name="amount"
            )
        if amount > remaining:
            raise ApiError(
                "The refund amount provided is greater than amount captured", field_name="amount"
            )
        refund: Entity = {
            "id": new_id("rfnd_"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": _notes(data.get("notes")),
            "receipt": data.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "processed",
            "speed_processed": REFUND_SPEEDS[speed],
            "speed_requested": speed,
        }
        payment["amount_refunded"] += amount
        self._refund_state(payment)
        self.refunds[refund["id"]] = refund
        return refund

    def fail_refund(self, refund: Entity) -> Entity:
        """The bank could not return the money: the refund fails and the amount is refundable."""
        if refund["status"] == "failed":
            raise ApiError("The refund has already failed", field_name="id")
        refund["status"] = "failed"
        payment = self.payment(refund["payment_id"])
        payment["amount_refunded"] -= refund["amount"]
        self._refund_state(payment)
        return refund

    def open_dispute(self, payment: Entity, data: Entity) -> Entity:
        """The customer's bank disputes a captured payment (Razorpay's dispute entity)."""
        if not payment["captured"]:
            raise ApiError("Only captured payments can be disputed", field_name="id")
        amount = _amount(data["amount"]) if data.get("amount") is not None else payment["amount"]
        now = int(time.time())
        dispute: Entity = {
            "id": new_id("disp_"),
            "entity": "dispute",
            "payment_id": payment["id"],
            "amount": amount,
            "currency": payment["currency"],
            "amount_deducted": 0,
            "reason_code": str(data.get("reason_code", "chargeback")),
            "reason_description": str(data.get("reason_description", "Customer disputed")),
            "respond_by": now + 7 * 86400,
            "status": "open",
            "phase": str(data.get("phase", "chargeback")),
            "created_at": now,
            "evidence": None,
        }
        self.disputes[dispute["id"]] = dispute
        return dispute

    def move_dispute(self, dispute: Entity, status: str) -> Entity:
        """A dispute is reviewed, won, lost or closed; a lost one deducts its amount."""
        if status not in DISPUTE_MOVES or dispute["status"] in ("won", "lost", "closed"):
            raise ApiError(
                f"The dispute cannot move from {dispute['status']} to {status}", field_name="status"
            )
        dispute["status"] = status
        if status == "lost":
            dispute["amount_deducted"] = dispute["amount"]
        return dispute

    @staticmethod
    def _refund_state(payment: Entity) -> None:
        refunded = payment["amount_refunded"]
        full = refunded == payment["amount"]
        payment["refund_status"] = ("full" if full else "partial") if refunded else None
        payment["status"] = "refunded" if full else "captured"

    # ---- webhooks -------------------------------------------------------------------------
    def event(self, name: str, event_id: str | None = None, **entities: Entity) -> SentWebhook:
        """Snapshot ``entities`` now into a signed event, as Razorpay would send it."""
        body = json.dumps(
            {
                "entity": "event",
                "account_id": self.account_id,
                "event": name,
                "contains": list(entities),
                "payload": {kind: {"entity": copy.deepcopy(e)} for kind, e in entities.items()},
                "created_at": int(time.time()),
            }
        )
        return SentWebhook(
            event_id=event_id or new_id(""),
            event=name,
            body=body,
            signature=sign(self.webhook_secret or "", body),
        )

    def deliver(self, hook: SentWebhook) -> SentWebhook:
        """POST one event to the webhook URL now; record the outcome, never raise."""
        with self.lock:
            url = self.webhook_url
            if not any(h is hook for h in self.sent):
                self.sent.append(hook)
        if not url or not url.startswith(("http://", "https://")):
            hook.error = f"no http(s) webhook url configured: {url!r}"
            return hook
        req = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            url,
            data=hook.body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": hook.signature,
                "x-razorpay-event-id": hook.event_id,
                "User-Agent": "Razorpay-Webhook/v1",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as resp:  # noqa: S310 - http(s) only
                hook.status_code, hook.error = int(resp.status), None
        except urllib.error.HTTPError as error:
            hook.status_code, hook.error = error.code, None
            error.close()
        except Exception as error:  # any delivery failure is recorded, never raised
            hook.status_code, hook.error = None, repr(error)
        return hook

    def enqueue(self, hooks: list[SentWebhook]) -> None:
        """Deliver in order on a background thread, as Razorpay delivers asynchronously."""
        with self._pending:
            self._queue.extend(hooks)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._drain, daemon=True, name="razorpay-sandbox-webhooks"
                )
                self._worker.start()
            self._pending.notify_all()

    def _drain(self) -> None:
        while True:
            with self._pending:
                if not self._queue:
                    self._pending.notify_all()
                    return
                hook = self._queue[0]
            self.deliver(hook)
            with self._pending:
                self._queue.popleft()

    def wait_delivered(self, timeout: float = 10.0) -> bool:
        """Block until queued webhooks are all delivered (or the timeout passes)."""
        with self._pending:
            return self._pending.wait_for(lambda: not self._queue, timeout=timeout)


def _refund_request(payment_id: str, data: Entity) -> str:
    """What makes two refund requests the same for Razorpay's idempotency: payment and body."""
    body = {k: v for k, v in data.items() if k not in SANDBOX_FIELDS}
    return payment_id + " " + json.dumps(body, sort_keys=True)


def _data() -> Entity:
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return body
    return {k: v for k, v in request.form.items()}


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def build_app(
    key_id: str, key_secret: str, webhook_url: str | None = None, webhook_secret: str | None = None
) -> Flask:
    """The sandbox as a WSGI app; its state is ``app.extensions["razorpay_sandbox"]``."""
    box = Sandbox(key_id, key_secret, webhook_url, webhook_secret)
    app = Flask(__name__)
    app.extensions["razorpay_sandbox"] = box

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _json(error.body(), error.status)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _json(ApiError("The requested URL was not found on the server.", 404).body(), 404)

    @app.before_request
    def injected_fault() -> Response | None:
        with box.lock:
            status = box.faults.take(request.path) if request.path.startswith("/v1/") else None
        return None if status is None else _json(_fault_body(status), status)

    @app.after_request
    def checkout_cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and request.path.startswith(CHECKOUT_CALLS):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "POST"
        return response

    @app.get("/checkout.razorpay.com/v1/checkout.js")
    def checkout_script() -> Response:
        return Response(CHECKOUT_SCRIPT.read_text(), mimetype="application/javascript")

    def checkout_key(data: Entity) -> None:
        """Checkout refuses a key that is not the account's (a page configured for another)."""
        key = data.get("key_id")
        if key is not None and not hmac.compare_digest(str(key), box.key_id):
            raise ApiError("The api key provided is invalid", status=401)

    @app.before_request
    def basic_auth() -> None:
        if not request.path.startswith("/v1/"):
            return
        auth = request.authorization
        if not (
            auth
            and hmac.compare_digest(auth.username or "", box.key_id)
            and hmac.compare_digest(auth.password or "", box.key_secret)
        ):
            raise ApiError("Authentication failed", status=401)

    def auto_send(*hooks: SentWebhook) -> None:
        if box.webhook_url and _data().get("webhooks", True) is not False:
            box.enqueue(list(hooks))

    @app.post("/v1/orders")
    def create_order() -> Response:
        with box.lock:
            return _json(box.create_order(_data()))

    @app.get("/v1/orders")
    def list_orders() -> Response:
        # Razorpay's "fetch all orders", with its `receipt` filter (newest first).
        receipt = request.args.get("receipt")
        with box.lock:
            items = [o for o in box.orders.values() if receipt is None or o["receipt"] == receipt]
            items.sort(key=lambda o: o["created_at"], reverse=True)
            return _json({"entity": "collection", "count": len(items), "items": items})

    @app.get("/v1/orders/<order_id>")
    def fetch_order(order_id: str) -> Response:
        with box.lock:
            return _json(box.order(order_id))

    @app.get("/v1/orders/<order_id>/payments")
    def order_payments(order_id: str) -> Response:
        with box.lock:
            return _json(box.order_payments(order_id))

    @app.get("/v1/payments/<payment_id>")
    def fetch_payment(payment_id: str) -> Response:
        with box.lock:
            return _json(box.payment(payment_id))

    @app.post("/v1/payments/<payment_id>/capture")
    def capture(payment_id: str) -> Response:
        with box.lock:
            payment = box.capture(box.payment(payment_id), _data())
            hooks = [box.event("payment.captured", payment=payment)]
            order = box.orders.get(payment["order_id"] or "")
            if order is not None and order["status"] == "paid":
                hooks.append(box.event("order.paid", payment=payment, order=order))
        auto_send(*hooks)
        return _json(payment)

    @app.post("/v1/payments/<payment_id>/refund")
    def refund(payment_id: str) -> Response:
        data, key = _data(), request.headers.get(REFUND_IDEMPOTENCY_HEADER)
        with box.lock:
            first = box.replayed_refund(key, payment_id, data) if key is not None else None
            if first is not None:
                return _json(first)  # a retry: no second refund, no second webhook
            payment = box.payment(payment_id)
            created = box.create_refund(payment, data)
            if key is not None:
                box.remember_refund(key, payment_id, data, created)
            hooks = [
                box.event(name, refund=created, payment=payment)
                for name in ("refund.created", "refund.processed")
            ]
        auto_send(*hooks)
        return _json(created)

    @app.get("/v1/payments/<payment_id>/refunds")
    def payment_refunds(payment_id: str) -> Response:
        with box.lock:
            box.payment(payment_id)
            items = [r for r in box.refunds.values() if r["payment_id"] == payment_id]
            return _json({"entity": "collection", "count": len(items), "items": items})

    @app.get("/v1/refunds/<refund_id>")
    def fetch_refund(refund_id: str) -> Response:
        with box.lock:
            return _json(box.refund(refund_id))

    @app.post("/_sandbox/refunds/<refund_id>/fail")
    def fail_refund(refund_id: str) -> Response:
        """What the bank does to a refund it cannot pay: refund.failed, the amount refundable."""
        with box.lock:
            failed = box.fail_refund(box.refund(refund_id))
            hook = box.event(
                "refund.failed", refund=failed, payment=box.payment(failed["payment_id"])
            )
        auto_send(hook)
        return _json(failed)

    @app.get("/v1/disputes/<dispute_id>")
    def fetch_dispute(dispute_id: str) -> Response:
        with box.lock:
            return _json(box.dispute(dispute_id))

    @app.post("/_sandbox/payments/<payment_id>/dispute")
    def open_dispute(payment_id: str) -> Response:
        """What a customer's bank does: payment.dispute.created, nothing deducted yet."""
        with box.lock:
            payment = box.payment(payment_id)
            dispute = box.open_dispute(payment, _data())
            hook = box.event("payment.dispute.created", payment=payment, dispute=dispute)
        auto_send(hook)
        return _json(dispute)

    @app.post("/_sandbox/disputes/<dispute_id>/<status>")
    def move_dispute(dispute_id: str, status: str) -> Response:
        """The dispute's outcome (``lost`` deducts the amount): payment.dispute.<status>."""
        with box.lock:
            dispute = box.move_dispute(box.dispute(dispute_id), status)
            hook = box.event(
                f"payment.dispute.{status}",
                payment=box.payment(dispute["payment_id"]),
                dispute=dispute,
            )
        auto_send(hook)
        return _json(dispute)

    @app.post("/_sandbox/orders/<order_id>/pay")
    def pay(order_id: str) -> Response:
        data = _data()
        checkout_key(data)
        with box.lock:
            order = box.order(order_id)
            was_paid = order["status"] == "paid"
            payment = box.new_payment(order, data, late=bool(data.get("late")))
            box.authorize(payment)
            hooks = [box.event("payment.authorized", payment=payment)]
            if data.get("capture", True):
                box.capture(payment, {"amount": payment["amount"]})
                hooks.append(box.event("payment.captured", payment=payment))
                if order["status"] == "paid" and not was_paid:
                    hooks.append(box.event("order.paid", payment=payment, order=order))
        auto_send(*hooks)
        return _json(
            {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": order_id,
                "razorpay_signature": sign(box.key_secret, f"{order_id}|{payment['id']}"),
            }
        )

    @app.post("/_sandbox/orders/<order_id>/fail")
    def fail(order_id: str) -> Response:
        checkout_key(_data())
        with box.lock:
            payment = box.fail(box.new_payment(box.order(order_id), _data()), _data())
            hook = box.event("payment.failed", payment=payment)
        auto_send(hook)
        return _json(payment)

    @app.post("/_sandbox/webhooks/config")
    def webhook_config() -> Response:
        data = _data()
        with box.lock:
            box.webhook_url = data.get("url", box.webhook_url)
            box.webhook_secret = data.get("secret", box.webhook_secret)
            return _json({"url": box.webhook_url, "secret_set": bool(box.webhook_secret)})

    @app.post("/_sandbox/webhooks/send")
    def webhook_send() -> Response:
        data = _data()
        with box.lock:
            previous = next((h for h in box.sent if h.event_id == data.get("event_id")), None)
            if previous is not None and "event" not in data:
                hook = previous  # replay: the very same bytes, signature and event id
            else:
                hook = box.event(
                    str(data.get("event", "")), data.get("event_id"), **_event_entities(box, data)
                )
        box.deliver(hook)
        return _json(
            {"event_id": hook.event_id, "status_code": hook.status_code, "error": hook.error}
        )

    @app.post("/_sandbox/faults")
    def set_faults() -> Response:
        """``{"fail_next": N, "status": 500, "path_prefix": "/v1/"}``; ``fail_next: 0`` clears."""
        data = _data()
        fail_next = _amount(data.get("fail_next", 0), "fail_next")
        status = _amount(data.get("status", 500), "status")
        prefix = data.get("path_prefix", "/v1/")
        if fail_next < 0 or not 500 <= status <= 599:
            raise ApiError("fail_next must be >= 0 and status a 5xx", field_name="status")
        if not isinstance(prefix, str) or not prefix.startswith("/v1/"):
            raise ApiError("path_prefix must start with /v1/", field_name="path_prefix")
        with box.lock:
            box.faults = Faults(fail_next, status, prefix)
            return _json(box.faults.as_dict())

    @app.get("/_sandbox/faults")
    def get_faults() -> Response:
        with box.lock:
            return _json(box.faults.as_dict())

    @app.get("/_sandbox/webhooks/sent")
    def webhooks_sent() -> Response:
        with box.lock:
            return _json([h.as_dict() for h in box.sent])

    @app.post("/_sandbox/webhooks/wait")
    def webhooks_wait() -> Response:
        return _json({"delivered": box.wait_delivered(float(_data().get("timeout", 10)))})

    return app


_EVENT_CONTAINS = {
    "payment.authorized": ("payment",),
    "payment.captured": ("payment",),
    "payment.failed": ("payment",),
    "order.paid": ("payment", "order"),
    "refund.created": ("refund", "payment"),
    "refund.processed": ("refund", "payment"),
    "refund.failed": ("refund", "payment"),
    **{f"payment.dispute.{s}": ("payment", "dispute") for s in ("created", *DISPUTE_MOVES)},
}


def _event_entities(box: Sandbox, data: Entity) -> dict[str, Entity]:
    """Current state of the entities an event of this name contains, found from the given ids."""
    name = data.get("event")
    if name not in _EVENT_CONTAINS:
        raise ApiError(f"Unsupported event: {name!r}", field_name="event")
    found: dict[str, Entity] = {}
    if data.get("dispute_id"):
        found["dispute"] = box.dispute(str(data["dispute_id"]))
    if data.get("refund_id"):
        found["refund"] = box.refund(str(data["refund_id"]))
    payment_id = (
        data.get("payment_id")
        or found.get("refund", {}).get("payment_id")
        or found.get("dispute", {}).get("payment_id")
    )
    if payment_id:
        found["payment"] = box.payment(str(payment_id))
    order_id = data.get("order_id") or found.get("payment", {}).get("order_id")
    if order_id:
        found["order"] = box.order(str(order_id))
        if "payment" not in found:
            paid = [p for p in box.payments.values() if p["order_id"] == order_id and p["captured"]]
            if paid:
                found["payment"] = paid[-1]
    missing = [kind for kind in _EVENT_CONTAINS[name] if kind not in found]
    if missing:
        raise ApiError(f"{name} needs {', '.join(missing)}: pass its id", field_name=missing[0])
    return {kind: found[kind] for kind in _EVENT_CONTAINS[name]}


def serve(app: Flask, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    """Serve ``app`` on 127.0.0.1:``port`` from a daemon thread; stop with ``server.shutdown()``."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), daemon=True, name="razorpay-sandbox"
    )  # short poll: quick shutdown in tests
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-id", default="rzp_test_sandbox")
    parser.add_argument("--key-secret", required=True)
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    args = parser.parse_args(argv)
    app = build_app(args.key_id, args.key_secret, args.webhook_url, args.webhook_secret)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"razorpay sandbox listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
