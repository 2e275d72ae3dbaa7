"""The payment providers' edge in neutral terms: what a gateway reports, and the gateway ports.

Each provider's adapter (``shared.adapters.razorpay_gateway``, ``shared.adapters.stripe_gateway``)
verifies its own webhooks and converts its own JSON and status words into these types; the
domain never sees a provider's JSON. Processed webhook events of every provider are kept in
one store (``ProcessedEvents``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.payments.records import GatewayIntent, PaymentRequest, PaymentStatus


class RefundStatus(StrEnum):
    """A refund's status, in its forward-only order (as ``PaymentStatus``)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"  # last: Stripe documents refunds that fail after reporting success

    @property
    def rank(self) -> int:
        return _REFUND_RANKS[self]


_REFUND_RANKS = {status: (index + 1) * 10 for index, status in enumerate(RefundStatus)}
# A refund in these states failed for good: no money goes back, and none will. One waiting for
# the customer's action (Stripe's requires_action) may still send it.
FINAL_REFUND_FAILURES = frozenset({RefundStatus.FAILED, RefundStatus.CANCELED})


def current_refund_status(reached: Mapping[int, object]) -> RefundStatus:
    """Return the highest-ranked refund status among those recorded (ranks as keys)."""
    top = max(reached)
    return next(status for status, rank in _REFUND_RANKS.items() if rank == top)


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    id: str
    payment_intent_id: str
    amount: int
    currency: str
    status: RefundStatus
    failure_reason: str | None = None
    created: int = 0  # unix seconds, as Stripe stamps it
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    id: str
    amount: int
    currency: str  # lower case, as we store it
    receipt: str | None
    client_secret: str | None = None  # Stripe: what Stripe.js confirms the payment with


class ProviderPaymentStatus(StrEnum):
    """A credit order's payment at its provider (Razorpay's lifecycle; Stripe's maps onto it)."""

    CREATED = "created"
    AUTHORIZED = "authorized"  # the money is held: ours to capture
    CAPTURED = "captured"
    REFUNDED = "refunded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    id: str
    order_id: str | None
    amount: int
    currency: str  # lower case
    status: ProviderPaymentStatus


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """A refund of a credit order's payment, as the provider reports it."""

    id: str
    amount: int  # minor units of the order's currency
    created: int  # unix seconds: refunds are settled in the order they were made
    returning_money: bool  # pending or succeeded: the money is going back, so the credits go
    # In Stripe's words whichever the provider (Razorpay's processed is succeeded), when known.
    status: RefundStatus | None = None
    notes: Mapping[str, str] = field(default_factory=dict)  # Razorpay's notes, Stripe's metadata
    # The payment it returns money of (Razorpay: an order may have several captured payments).
    payment_id: str | None = None

    @property
    def undone(self) -> bool:
        """It failed or was canceled for good: its credits go back, its amount is refundable."""
        if self.status is not None:
            return self.status in FINAL_REFUND_FAILURES
        return not self.returning_money


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified webhook event, converted to our terms by its provider's adapter.

    ``type`` keeps the provider's own event name (what the domain dispatches on and what the
    answer echoes). The other fields are filled when the event carries them:
    ``payment`` (Razorpay's payment), ``intent``/``payment_status`` (Stripe's PaymentIntent or
    Charge), ``refund`` with the money ``refunded_before`` it (Razorpay) or ``refunds`` (Stripe's
    charge), and the plain fields of a ``dispute`` or ``checkout_session`` we record.
    """

    provider: str
    id: str
    type: str
    created: int | None = None
    payment: ProviderPayment | None = None
    payment_intent_id: str | None = None
    intent: GatewayIntent | None = None
    payment_status: PaymentStatus | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    refund: ProviderRefund | None = None
    refunded_before: int = 0
    refunds: tuple[GatewayRefund, ...] = ()
    dispute: Mapping[str, Any] | None = None
    checkout_session: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class ProcessedEvents(ABC):
    """Port: which provider events were already applied (one store for every provider)."""

    @abstractmethod
    def seen(self, event: ProviderEvent) -> bool: ...

    @abstractmethod
    def record(self, event: ProviderEvent, outcome: str) -> None:
        """Record ``event`` as applied, after its effects (a retry of a failed one reapplies)."""


class OrderingGateway(ABC):
    """Port: a provider that can open a payment for a credit order (Razorpay, Stripe)."""

    name: str
    key_id: str  # public key the client's Checkout (or Stripe.js) needs

    @abstractmethod
    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        """Create the provider's order for our ``order_id`` (idempotent on it)."""


class CheckoutGateway(OrderingGateway):
    """Port: a provider whose Checkout the server verifies (Razorpay)."""

    @abstractmethod
    def fetch_payment(self, payment_id: str) -> ProviderPayment: ...

    @abstractmethod
    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        """Every payment attempt on the provider's order (reconciliation asks this)."""

    @abstractmethod
    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment: ...

    @abstractmethod
    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        """Check Checkout's signature over ``order_id|payment_id`` in constant time."""

    @abstractmethod
    def verify_event(
        self, body: bytes, signature: str | None, event_id: str | None
    ) -> ProviderEvent:
        """Check the signature over the raw body and parse; raise ``SignatureInvalid`` if not."""


class RefundListingGateway(OrderingGateway):
    """Port: a provider whose refunds of an order we read in full (Stripe: made anywhere)."""

    @abstractmethod
    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]: ...


class OrderRefundGateway(RefundListingGateway):
    """Port: a provider that refunds a credit order's payment when we ask (Razorpay, Stripe)."""

    @abstractmethod
    def refund_payment(
        self, payment_id: str, amount: int, notes: Mapping[str, str], idempotency_key: str
    ) -> ProviderRefund:
        """Refund ``amount`` of the payment once per ``idempotency_key`` (a retry gets the same
        refund back); raise ``ProviderRejected`` when the provider refuses."""


class CheckoutRefundGateway(CheckoutGateway, OrderRefundGateway):
    """Port: a provider whose Checkout the client completes and that refunds orders (Razorpay)."""


class PaymentGateway(ABC):
    """The port every card gateway implements (Stripe today); ``RefundGateway`` adds refunds."""

    @abstractmethod
    def create_intent(self, request: PaymentRequest, idempotency_key: str) -> GatewayIntent: ...

    @abstractmethod
    def create_credit_intent(
        self, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayIntent:
        """Create an unconfirmed intent for a credit order; the client confirms it."""

    @abstractmethod
    def confirm_intent(self, intent_id: str, idempotency_key: str) -> GatewayIntent:
        """Confirm; raise ``CardDeclined`` when the card is declined."""

    @abstractmethod
    def retrieve_intent(self, intent_id: str) -> GatewayIntent: ...

    @abstractmethod
    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        """Check the signature (and its age) and parse; raise ``SignatureInvalid`` otherwise."""
