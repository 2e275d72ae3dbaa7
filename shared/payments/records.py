"""Card payments (seed 004): gateway-neutral records, the forward-only state rule, and the ports
(refunds of them: ``shared.payments.refunds``).

A payment's state only moves forward. Each state ever reached is recorded under its rank, and
the payment's status is the highest-ranked one, so writers that race (the API call and a webhook,
or two webhook deliveries) can never move it back: recording a state is a commutative merge,
not a read-modify-write, so no transaction is needed and none contends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import invalid_field
from shared.money import normalize_currency, require_chargeable, require_int_amount
from shared.payments.outbox import OutboxMessage

# Stripe's own ceiling for one charge (99,999,999 minor units); anything above is a mistake.
MAX_PAYMENT_AMOUNT = 99_999_999
MAX_METADATA_KEYS = 20  # Stripe allows 50; we keep room for our own keys
# Metadata keys the service itself writes on Stripe objects (a credit order's PaymentIntent:
# ``shared.adapters.stripe_checkout``). A client's card payment may not carry them, so nothing
# that reads them can mistake a card payment for one of ours.
CREDIT_ORDER_METADATA_KEY = "credit_order_id"
RESERVED_METADATA_KEYS = frozenset({CREDIT_ORDER_METADATA_KEY, "order_id", "user_id"})


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    FAILED = "failed"  # ours: Stripe says requires_payment_method with a last_payment_error
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"

    @property
    def rank(self) -> int:
        """Position in the forward-only order; a state never gives way to a lower rank."""
        return _RANKS[self]

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED, PaymentStatus.FAILED)


_RANKS = {status: (index + 1) * 10 for index, status in enumerate(PaymentStatus)}


def status_of_rank(rank: int) -> PaymentStatus:
    for status, value in _RANKS.items():
        if value == rank:
            return status
    raise ValueError(f"no payment status has rank {rank}")


def current_status(reached: Mapping[int, object]) -> PaymentStatus:
    """Return the highest-ranked status among those recorded (ranks as keys)."""
    return status_of_rank(max(reached))


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a client asks for; validated before any provider is called."""

    amount: int
    currency: str
    payment_method: str
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_email: str | None = None

    def __post_init__(self) -> None:
        require_int_amount(self.amount)
        if self.amount <= 0:
            raise invalid_field("amount", "must be a positive integer in minor units")
        if self.amount > MAX_PAYMENT_AMOUNT:
            raise invalid_field("amount", f"must be at most {MAX_PAYMENT_AMOUNT}")
        if self.currency != normalize_currency(self.currency):
            raise invalid_field("currency", "must be lower case")
        require_chargeable(self.amount, self.currency)
        if not self.payment_method.startswith("pm_"):
            raise invalid_field("payment_method", "must be a PaymentMethod id (pm_...)")
        if len(self.metadata) > MAX_METADATA_KEYS:
            raise invalid_field("metadata", f"at most {MAX_METADATA_KEYS} keys")
        for key in sorted(self.metadata):
            if key.lower() in RESERVED_METADATA_KEYS:
                raise invalid_field(f"metadata.{key}", "is reserved for the service's own use")


@dataclass(frozen=True, slots=True)
class GatewayIntent:
    """A PaymentIntent as the gateway reports it, in gateway-neutral terms."""

    id: str
    amount: int
    currency: str
    status: PaymentStatus
    client_secret: str | None
    amount_received: int = 0
    latest_charge: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class CardDeclined(Exception):
    """Raised by a gateway when the card is declined at confirmation."""

    def __init__(self, code: str, decline_code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.message = message


@dataclass(frozen=True, slots=True)
class Payment:
    """Our record of a payment, as the API returns it."""

    payment_intent_id: str
    amount: int
    currency: str
    status: PaymentStatus
    owner_uid: str | None
    client_secret: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    amount_refunded: int = 0
    disputes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def captured(self) -> int:
        return self.amount if self.status is PaymentStatus.SUCCEEDED else 0

    @property
    def requires_action(self) -> bool:
        return self.status is PaymentStatus.REQUIRES_ACTION


class PaymentStore(ABC):
    """Where payments, refunds and their outbox notifications are kept."""

    @abstractmethod
    def create_payment(
        self, intent: GatewayIntent, request: PaymentRequest, owner_uid: str | None
    ) -> None: ...

    @abstractmethod
    def record_status(
        self,
        payment_intent_id: str,
        status: PaymentStatus,
        details: Mapping[str, Any],
        notify: OutboxMessage | None,
        intent: GatewayIntent | None = None,
    ) -> bool:
        """Record that the payment reached ``status`` (once); False if it already had."""

    @abstractmethod
    def payment(self, payment_intent_id: str) -> Payment | None: ...

    @abstractmethod
    def record_dispute(
        self, payment_intent_id: str, dispute: Mapping[str, Any], notify: OutboxMessage | None
    ) -> bool: ...

    @abstractmethod
    def record_checkout_session(self, session: Mapping[str, Any], event_type: str) -> None: ...
