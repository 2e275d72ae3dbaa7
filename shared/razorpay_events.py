"""Razorpay webhooks for credit orders: verify, dedupe, and apply each event once.

- The signature is checked over the raw body with the webhook secret (400 when it fails).
- Dedupe on ``x-razorpay-event-id``: a processed event is recorded after it is applied, so a
  replay costs one read and no write; an event that failed half-way is applied again on retry,
  which is safe because every effect is idempotent on its own (effect keys).
- ``payment.captured`` and ``order.paid`` grant through ``grant_purchase_credits``;
  ``payment.failed`` marks the order failed (a later capture still grants);
  ``refund.processed`` claws back credits proportionally (policy in ``shared.orders``);
  ``payment.dispute.*`` is recorded on the order. Anything else is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.checkout import CheckoutGateway, ProviderPayment
from shared.errors import InvalidRequest, SignatureInvalid
from shared.ids import require_document_id
from shared.ledger import LedgerStore
from shared.orders import (
    CreditOrder,
    OrderStatus,
    OrderStore,
    claw_back_refund,
    flag_order,
    grant_purchase_credits,
    mark_failed,
    record_dispute,
)
from shared.purchases import RAZORPAY, payment_mismatches

GRANTING_EVENTS = frozenset({"payment.captured", "order.paid"})


class ProcessedEvents(ABC):
    """Port: which provider events were already applied."""

    @abstractmethod
    def seen(self, provider: str, event_id: str) -> bool: ...

    @abstractmethod
    def record(self, provider: str, event_id: str, event: str, outcome: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    event_id: str
    event: str
    outcome: str
    duplicate: bool = False


def payment_from_entity(entity: Mapping[str, Any]) -> ProviderPayment:
    return ProviderPayment(
        id=str(entity["id"]),
        order_id=entity.get("order_id"),
        amount=int(entity["amount"]),
        currency=str(entity["currency"]).lower(),
        status=str(entity.get("status", "")),
    )


def _entity(payload: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    wrapper = payload.get(kind)
    entity = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
    return entity if isinstance(entity, Mapping) else None


@dataclass
class RazorpayWebhooks:
    gateway: Callable[[], CheckoutGateway]
    ledger: LedgerStore
    orders: OrderStore
    processed: ProcessedEvents
    clock: Callable[[], datetime]

    def handle(self, body: bytes, signature: str, event_id: str | None) -> WebhookOutcome:
        """Apply one signed Razorpay event at most once; raise 400 on a bad signature."""
        if not signature or not self.gateway().webhook_signature_valid(body, signature):
            raise SignatureInvalid("X-Razorpay-Signature", "does not match the body")
        if event_id is not None:
            require_document_id(event_id, "x-razorpay-event-id")  # it names our dedupe record
        event_id = event_id or "body-" + hashlib.sha256(body).hexdigest()
        try:
            event = json.loads(body)
            name = str(event["event"])
            payload = event.get("payload") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest(
                "body: not a Razorpay event", {"fields": {"body": "invalid"}}
            ) from exc
        if self.processed.seen(RAZORPAY, event_id):
            return WebhookOutcome(event_id, name, "already processed", duplicate=True)
        outcome = self._apply(name, payload, event_id)
        self.processed.record(RAZORPAY, event_id, name, outcome)
        return WebhookOutcome(event_id, name, outcome)

    def _apply(self, name: str, payload: Mapping[str, Any], event_id: str) -> str:
        payment_entity = _entity(payload, "payment")
        if name in GRANTING_EVENTS and payment_entity:
            return self._grant(payment_from_entity(payment_entity), event_id)
        if name == "payment.failed" and payment_entity:
            return self._failed(payment_entity)
        refund = _entity(payload, "refund")
        if name == "refund.processed" and refund and payment_entity:
            return self._refund(refund, payment_entity, event_id)
        dispute = _entity(payload, "dispute")
        if name.startswith("payment.dispute.") and dispute:
            return self._dispute(name, dispute, payment_entity)
        return "ignored"

    def _order_of(self, payment: Mapping[str, Any] | ProviderPayment) -> CreditOrder | None:
        if isinstance(payment, ProviderPayment):
            order_id = payment.order_id
        else:
            order_id = payment.get("order_id")
        return self.orders.by_provider_order(RAZORPAY, str(order_id)) if order_id else None

    def _grant(self, payment: ProviderPayment, event_id: str) -> str:
        order = self._order_of(payment)
        if order is None:
            return "ignored: not a credit order"
        problems = payment_mismatches(order, payment, order.provider_order_id)
        if problems:
            details = {"payment_id": payment.id, "problems": problems, "at": self.clock()}
            flag_order(self.orders, order.id, "payment_mismatch", details)
            return "flagged: payment does not match the order"
        if payment.status != "captured":
            return f"ignored: payment {payment.status}"
        result = grant_purchase_credits(
            self.ledger, order, RAZORPAY, payment.id, now=self.clock(), event_id=event_id
        )
        return "already granted" if result.replayed else "granted"

    def _failed(self, payment: Mapping[str, Any]) -> str:
        order = self._order_of(payment)
        if order is None:
            return "ignored: not a credit order"
        failure = {
            "payment_id": payment.get("id"),
            "error_code": payment.get("error_code"),
            "error_description": payment.get("error_description"),
            "at": self.clock(),
        }
        mark_failed(self.orders, order, failure)
        return "order stays paid" if order.status is OrderStatus.PAID else "marked failed"

    def _refund(self, refund: Mapping[str, Any], payment: Mapping[str, Any], event_id: str) -> str:
        order = self._order_of(payment)
        if order is None:
            return "ignored: not a credit order"
        if order.paid_at is None:
            # Events arrive out of order: a refunded payment was captured, so grant it first
            # (once, as ever) and then take the refund back, rather than lose the clawback.
            captured = replace(payment_from_entity(payment), status="captured")
            if self._grant(captured, event_id) not in ("granted", "already granted"):
                return "ignored: refund of an order that was never granted"
        amount = int(refund["amount"])
        refunded_before = int(payment.get("amount_refunded") or amount) - amount
        claw_back_refund(
            self.ledger,
            self.orders,
            order,
            refund_id=str(refund["id"]),
            refund_amount=amount,
            refunded_before=refunded_before,
            provider=RAZORPAY,
            now=self.clock(),
        )
        return "credits taken back"

    def _dispute(
        self, name: str, dispute: Mapping[str, Any], payment: Mapping[str, Any] | None
    ) -> str:
        if payment is None and dispute.get("payment_id"):
            fetched = self.gateway().fetch_payment(str(dispute["payment_id"]))
            payment = {"id": fetched.id, "order_id": fetched.order_id}
        order = self._order_of(payment) if payment else None
        if order is None:
            return "ignored: not a credit order"
        details = {
            "status": dispute.get("status"),
            "amount": dispute.get("amount"),
            "reason_code": dispute.get("reason_code"),
            "payment_id": dispute.get("payment_id") or (payment or {}).get("id"),
            "at": self.clock(),
        }
        record_dispute(self.orders, order.id, str(dispute.get("id")), name, details)
        return "dispute recorded"
