"""Razorpay webhooks for credit orders: apply each verified event once.

The adapter (``shared.adapters.razorpay_gateway``) has checked the signature over the raw body
and converted the event; here it is deduplicated and applied:
- a processed event is recorded after it is applied, so a replay costs one read and no write;
  an event that failed half-way is applied again on retry, which is safe because every effect
  is idempotent on its own (effect keys);
- ``payment.captured`` and ``order.paid`` grant through ``grant_purchase_credits``;
  ``payment.failed`` marks the order failed (a later capture still grants);
  ``refund.processed`` claws back credits proportionally (policy in
  ``shared.purchases.crediting``), and
  ``refund.failed`` gives back what a clawback of that refund took (once);
  ``payment.dispute.*`` is recorded on the order, and ``payment.dispute.lost`` takes the credits
  back as a refund of the money deducted does (``claw_back_chargeback``);
  a payment other than the one that paid the order (``shared.purchases.second_payments``) is
  recorded as owed back, and its refunds and chargebacks never touch credits.
  Anything else is acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from shared.errors import Unavailable
from shared.ledger.store import LedgerStore
from shared.payments.providers import (
    CheckoutRefundGateway,
    ProcessedEvents,
    ProviderEvent,
    ProviderPayment,
    ProviderPaymentStatus,
    ProviderRefund,
)
from shared.purchases.checkout import RAZORPAY, payment_mismatches
from shared.purchases.crediting import (
    claw_back_chargeback,
    claw_back_refund,
    flag_order,
    grant_purchase_credits,
    mark_failed,
    record_dispute,
    restore_refund_clawback,
)
from shared.purchases.orders import CreditOrder, OrderStatus, OrderStore
from shared.purchases.second_payments import (
    is_second_payment,
    paid_by,
    record_second_payment,
    record_second_payment_charged_back,
    record_second_payment_refund,
)
from shared.purchases.tax_documents import TaxDocuments

GRANTING_EVENTS = frozenset({"payment.captured", "order.paid"})
SECOND_PAYMENT = "second payment: needs a refund"
REFUND_EVENTS = frozenset({"refund.processed", "refund.failed"})


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    event_id: str
    event: str
    outcome: str
    duplicate: bool = False


@dataclass
class RazorpayWebhooks:
    gateway: Callable[[], CheckoutRefundGateway]
    ledger: LedgerStore
    orders: OrderStore
    processed: ProcessedEvents
    clock: Callable[[], datetime]
    documents: TaxDocuments | None = None  # tax invoices and credit notes

    def apply(self, event: ProviderEvent) -> WebhookOutcome:
        """Apply one verified Razorpay event at most once."""
        if self.processed.seen(event):
            return WebhookOutcome(event.id, event.type, "already processed", duplicate=True)
        outcome = self._apply(event)
        self.processed.record(event, outcome)
        return WebhookOutcome(event.id, event.type, outcome)

    def _apply(self, event: ProviderEvent) -> str:
        payment = event.payment
        if event.type in GRANTING_EVENTS and payment:
            return self._grant(payment, event.id)
        if event.type == "payment.failed" and payment:
            return self._failed(event, payment)
        if event.type in REFUND_EVENTS and event.refund and payment:
            return self._second_payment_refund(event, event.refund, payment) or (
                self._refund(event, payment)
                if event.type == "refund.processed"
                else self._refund_failed(event.refund.id, payment)
            )
        if event.type.startswith("payment.dispute.") and event.dispute:
            return self._dispute(event, payment)
        return "ignored"

    def _order_of(self, order_id: str | None) -> CreditOrder | None:
        return self.orders.by_provider_order(RAZORPAY, str(order_id)) if order_id else None

    def _grant(self, payment: ProviderPayment, event_id: str) -> str:
        order = self._order_of(payment.order_id)
        if order is None:
            return "ignored: not a credit order"
        problems = payment_mismatches(order, payment, order.provider_order_id)
        if problems:
            details = {"payment_id": payment.id, "problems": problems, "at": self.clock()}
            flag_order(self.orders, order.id, "payment_mismatch", details)
            return "flagged: payment does not match the order"
        if payment.status is not ProviderPaymentStatus.CAPTURED:
            return f"ignored: payment {payment.status}"
        if not is_second_payment(order, payment.id):
            result = grant_purchase_credits(
                self.ledger,
                order,
                RAZORPAY,
                payment.id,
                now=self.clock(),
                event_id=event_id,
                documents=self.documents,
            )
            if not result.replayed:
                return "granted"
            # Another payment may have won the grant meanwhile: its entries name the one it took.
            if paid_by(self.ledger, order) in (None, payment.id):
                return "already granted"
        record_second_payment(self.orders, order, payment, self.clock())
        return SECOND_PAYMENT

    def _second_payment_refund(
        self, event: ProviderEvent, refund: ProviderRefund, payment: ProviderPayment
    ) -> str | None:
        """Record a refund of a paid order's second payment (credits untouched); None if the
        refund is of the paying payment, or of an order not paid yet."""
        order = self._order_of(payment.order_id)
        if order is None or not is_second_payment(order, payment.id):
            return None
        failed = event.type == "refund.failed"
        refunded = 0 if failed else event.refunded_before + refund.amount
        if failed:
            refund = replace(refund, returning_money=False)
        record_second_payment_refund(
            self.orders, order, payment, refund, refunded=refunded, now=self.clock()
        )
        if failed:
            return "refund of a second payment failed: it needs a refund again"
        return "refund of a second payment: credits untouched"

    def _failed(self, event: ProviderEvent, payment: ProviderPayment) -> str:
        order = self._order_of(payment.order_id)
        if order is None:
            return "ignored: not a credit order"
        failure = {
            "payment_id": payment.id,
            "error_code": event.decline_code,
            "error_description": event.failure_message,
            "at": self.clock(),
        }
        mark_failed(self.orders, order, failure)
        return "order stays paid" if order.status is OrderStatus.PAID else "marked failed"

    def _refund(self, event: ProviderEvent, payment: ProviderPayment) -> str:
        assert event.refund is not None
        order = self._order_of(payment.order_id)
        if order is None:
            return "ignored: not a credit order"
        if order.paid_at is None:
            # Events arrive out of order: a refunded payment was captured, so grant it first
            # (once, as ever) and then take the refund back, rather than lose the clawback.
            captured = replace(payment, status=ProviderPaymentStatus.CAPTURED)
            if self._grant(captured, event.id) not in ("granted", "already granted"):
                return "ignored: refund of an order that was never granted"
        if self._failed_for_good(order, event.refund.id):
            # A late delivery of an earlier ``refund.processed``: the refund has failed since
            # (its ``refund.failed`` found nothing to give back), so no money went back.
            return "refund failed: nothing taken back"
        claw_back_refund(
            self.ledger,
            self.orders,
            order,
            refund_id=event.refund.id,
            refund_amount=event.refund.amount,
            refunded_before=event.refunded_before,
            provider=RAZORPAY,
            now=self.clock(),
            documents=self.documents,
        )
        return "credits taken back"

    def _failed_for_good(self, order: CreditOrder, refund_id: str) -> bool:
        """Whether Razorpay lists the refund as failed: its list, not one event, is the truth."""
        listed = self.gateway().refunds_of(order.provider_order_id)
        return any(r.id == refund_id and r.undone for r in listed)

    def _refund_failed(self, refund_id: str, payment: ProviderPayment) -> str:
        order = self._order_of(payment.order_id)
        if order is None:
            return "ignored: not a credit order"
        restored = restore_refund_clawback(
            self.ledger,
            self.orders,
            order,
            refund_id=refund_id,
            status="failed",
            provider=RAZORPAY,
            now=self.clock(),
        )
        return "credits given back" if restored is not None else "nothing was taken back"

    def _dispute(self, event: ProviderEvent, payment: ProviderPayment | None) -> str:
        assert event.dispute is not None
        dispute = event.dispute
        order_id = payment.order_id if payment else None
        payment_id = payment.id if payment else None
        if payment is None and dispute.get("payment_id"):
            fetched = self.gateway().fetch_payment(str(dispute["payment_id"]))
            order_id, payment_id = fetched.order_id, fetched.id
        order = self._order_of(order_id)
        if order is None:
            return "ignored: not a credit order"
        details = {
            "status": dispute.get("status"),
            "amount": dispute.get("amount"),
            "reason_code": dispute.get("reason_code"),
            "payment_id": dispute.get("payment_id") or payment_id,
            "at": self.clock(),
        }
        dispute_id = str(dispute.get("id"))
        record_dispute(self.orders, order.id, dispute_id, event.type, details)
        if event.type != "payment.dispute.lost" or not payment_id:
            return "dispute recorded"
        if order.paid_at is None:
            # The capture's event has not been applied yet: Razorpay redelivers this one.
            raise Unavailable("the order's payment is not granted yet", {"retryable": True})
        # Razorpay deducts ``amount_deducted`` when a dispute is lost; older payloads lack it.
        taken = int(dispute.get("amount_deducted") or dispute.get("amount") or 0)
        if is_second_payment(order, payment_id):
            second = ProviderPayment(payment_id, order.provider_order_id, taken, order.currency,
                                     ProviderPaymentStatus.CAPTURED)  # fmt: skip
            record_second_payment_charged_back(self.orders, order, second, dispute_id, self.clock())
            return "second payment charged back: credits untouched"
        claw_back_chargeback(
            self.ledger, self.orders, order, dispute_id=dispute_id, amount=taken,
            provider=RAZORPAY, now=self.clock(),
        )  # fmt: skip
        return "credits taken back"
