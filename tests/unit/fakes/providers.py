"""Razorpay and Stripe as the credit checkout sees them, and their webhook events.

How a provider's event reaches the domain is being reshaped (one neutral event type): tests
build and deliver events only through these helpers, so that reshaping is followed here alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from shared.adapters.razorpay_gateway import event_from_razorpay
from shared.errors import ProviderError, ProviderRejected, SignatureInvalid
from shared.payments.providers import (
    CheckoutRefundGateway,
    OrderRefundGateway,
    ProviderEvent,
    ProviderOrder,
    ProviderPayment,
    ProviderPaymentStatus,
    ProviderRefund,
    RefundStatus,
)
from shared.payments.records import GatewayIntent, PaymentStatus
from shared.purchases.razorpay_events import RazorpayWebhooks, WebhookOutcome


@dataclass
class Refunds:
    """A provider's refunds of credit orders' payments: once per idempotency key, as both do.

    ``lose_answers`` makes the refund and then fails to answer (a timeout after the provider
    acted); ``lose_requests`` fails to answer without making it (the request never arrived);
    ``refuse`` refuses before making anything; ``status`` is what a new refund reports.
    """

    made: dict[str, list[ProviderRefund]] = field(default_factory=dict)  # by provider order id
    keys: dict[str, ProviderRefund] = field(default_factory=dict)
    status: RefundStatus = RefundStatus.SUCCEEDED
    lose_answers: bool = False
    lose_requests: bool = False
    refuse: bool = False
    calls: int = 0

    def make(
        self,
        provider_order_id: str,
        prefix: str,
        amount: int,
        notes: Mapping[str, str],
        idempotency_key: str,
        *,
        payment_id: str | None = None,
    ) -> ProviderRefund:
        self.calls += 1
        if self.lose_requests:
            raise ProviderError("the provider did not answer")
        if self.refuse:
            raise ProviderRejected("the provider refused the refund")
        if idempotency_key not in self.keys:
            listed = self.made.setdefault(provider_order_id, [])
            returning = self.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
            refund = ProviderRefund(
                f"{prefix}{sum(len(r) for r in self.made.values()) + 1}",
                amount,
                len(listed) + 1,
                returning,
                self.status,
                dict(notes),
                payment_id,
            )
            listed.append(refund)
            self.keys[idempotency_key] = refund
        if self.lose_answers:
            raise ProviderError("the provider did not answer")
        return self.keys[idempotency_key]

    def fail(self, refund_id: str, status: RefundStatus = RefundStatus.FAILED) -> None:
        """A refund fails (or is canceled) at the provider, some time after it was made."""
        for listed in self.made.values():
            for index, refund in enumerate(listed):
                if refund.id == refund_id:
                    listed[index] = replace(refund, returning_money=False, status=status)


@dataclass
class Razorpay(CheckoutRefundGateway):
    """Razorpay as the domain sees it: orders, payments, signatures that are right or wrong."""

    name: str = "razorpay"
    key_id: str = "rzp_test_fake"
    payments: list[ProviderPayment] = field(default_factory=list)
    refunds: Refunds = field(default_factory=Refunds)
    orders: dict[str, ProviderOrder] = field(default_factory=dict)
    captured: list[str] = field(default_factory=list)
    down: bool = False
    knows: set[str] | None = None  # provider order ids it has; None: every one
    good_signature: str = "good"
    asked: list[str] = field(default_factory=list)

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        self._answer()
        # Like Razorpay's unique receipt: the same order id finds the same provider order.
        made = self.orders.get(order_id) or ProviderOrder(
            f"order_{len(self.orders) + 1}", amount, currency, order_id
        )
        self.orders[order_id] = made
        return made

    def pay(self, provider_order_id: str, amount: int, status: str = "captured") -> str:
        """A customer pays the order in Checkout; return the payment id."""
        payment = ProviderPayment(
            f"pay_{len(self.payments) + 1}",
            provider_order_id,
            amount,
            "inr",
            ProviderPaymentStatus(status),
        )
        self.payments.append(payment)
        return payment.id

    def fetch_payment(self, payment_id: str) -> ProviderPayment:
        self._answer()
        found = [p for p in self.payments if p.id == payment_id]
        if not found:
            raise ProviderRejected("Razorpay refused the request: the id does not exist")
        return found[-1]

    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        self.asked.append(provider_order_id)
        self._answer()
        if self.knows is not None and provider_order_id not in self.knows:
            raise ProviderRejected("Razorpay refused the request: the id does not exist")
        return [p for p in self.payments if p.order_id == provider_order_id]

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment:
        self._answer()
        payment = replace(self.fetch_payment(payment_id), status=ProviderPaymentStatus.CAPTURED)
        self.payments = [payment if p.id == payment_id else p for p in self.payments]
        self.captured.append(payment_id)
        return payment

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        self._answer()
        return list(self.refunds.made.get(provider_order_id, []))

    def refund_payment(
        self, payment_id: str, amount: int, notes: Mapping[str, str], idempotency_key: str
    ) -> ProviderRefund:
        self._answer()
        order_id = str(self.fetch_payment(payment_id).order_id)
        return self.refunds.make(
            order_id, "rfnd_", amount, notes, idempotency_key, payment_id=payment_id
        )

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        return signature == self.good_signature

    def verify_event(
        self, body: bytes, signature: str | None, event_id: str | None
    ) -> ProviderEvent:
        """Signature right or wrong; the JSON converted as the real adapter converts it."""
        if signature != self.good_signature:
            raise SignatureInvalid("X-Razorpay-Signature", "does not match the body")
        return event_from_razorpay(event_id or "no-id", json.loads(body))

    def _answer(self) -> None:
        if self.down:
            raise ProviderError("Razorpay did not answer")


@dataclass
class StripeCheckout(OrderRefundGateway):
    """Stripe as the credit checkout sees it: one PaymentIntent per order id."""

    name: str = "stripe"
    key_id: str = "pk_test_fake"
    intents: dict[str, ProviderOrder] = field(default_factory=dict)
    refunds: Refunds = field(default_factory=Refunds)  # made by intent id
    created: int = 0  # intents ever made: a forgotten key makes a new one

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        if order_id not in self.intents:  # keyed on the order id, as our idempotency key is
            self.created += 1
            self.intents[order_id] = ProviderOrder(
                f"pi_{self.created}", amount, currency, order_id, client_secret="pi_secret"
            )
        return self.intents[order_id]

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        return list(self.refunds.made.get(provider_order_id, []))

    def refund_payment(
        self, payment_id: str, amount: int, notes: Mapping[str, str], idempotency_key: str
    ) -> ProviderRefund:
        # A Stripe credit order's payment is its PaymentIntent, the provider order itself.
        return self.refunds.make(payment_id, "re_", amount, notes, idempotency_key)


# --- provider events --------------------------------------------------------------------------
# How a provider's event reaches the domain is being reshaped (one neutral event type): the tests
# build and deliver events only through these helpers, so that reshaping is followed here alone.


def razorpay_payment(
    payment_id: str, order_id: str, amount: int, status: str = "captured", **extra: object
) -> dict[str, object]:
    """A Razorpay payment entity, as its webhooks carry it."""
    return {
        "id": payment_id,
        "order_id": order_id,
        "amount": amount,
        "currency": "INR",
        "status": status,
        **extra,
    }


def deliver_razorpay(
    webhooks: RazorpayWebhooks,
    event: str,
    event_id: str,
    signature: str = "good",
    **entities: Mapping[str, object],
) -> WebhookOutcome:
    """Deliver one signed Razorpay webhook (``payment=``, ``refund=``, ``dispute=`` entities)."""
    payload = {kind: {"entity": dict(entity)} for kind, entity in entities.items()}
    body = json.dumps({"event": event, "payload": payload}).encode()
    return webhooks.apply(webhooks.gateway().verify_event(body, signature, event_id))


def credit_intent(
    intent_id: str, amount: int, currency: str, succeeded: bool = True
) -> GatewayIntent:
    """A Stripe PaymentIntent event's intent, as the gateway hands it to the domain."""
    status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.PROCESSING
    return GatewayIntent(
        intent_id, amount, currency, status, None, amount_received=amount if succeeded else 0
    )
