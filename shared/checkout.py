"""Gateway-neutral shapes of a checkout for credit orders (Razorpay, Stripe), and its ports."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    id: str
    amount: int
    currency: str  # lower case, as we store it
    receipt: str | None
    client_secret: str | None = None  # Stripe: what Stripe.js confirms the payment with


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    id: str
    order_id: str | None
    amount: int
    currency: str  # lower case
    status: str  # the provider's own word: created, authorized, captured, refunded, failed


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """A refund of a credit order's payment, as the provider reports it."""

    id: str
    amount: int  # minor units of the order's currency
    created: int  # unix seconds: refunds are settled in the order they were made
    returning_money: bool  # pending or succeeded: the money is going back, so the credits go


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
    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        """Check a webhook's signature over its raw body in constant time."""


class RefundListingGateway(OrderingGateway):
    """Port: a provider whose refunds of an order we read in full (Stripe: made anywhere)."""

    @abstractmethod
    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]: ...
