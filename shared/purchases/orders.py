"""Credit orders and the one provider-neutral path that turns a paid order into credits.

An order moves forward only: ``created`` → ``paid``, or ``created`` → ``failed`` → ``paid`` (a
failed attempt may be followed by a captured one). ``paid`` is final; refunds and disputes are
recorded on the order without changing its status.

What becomes of a paid order (credits, refunds, disputes): ``shared.purchases.crediting``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import NotFound
from shared.ledger.store import SideWrite
from shared.payments.providers import ProviderRefund
from shared.purchases.pricing import Quote


class OrderStatus(StrEnum):
    CREATED = "created"
    FAILED = "failed"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class CreditOrder:
    """A purchase of credits: what the user pays and what they get, and where it stands."""

    id: str
    user_id: str
    provider: str
    provider_order_id: str
    amount: int
    tax: int
    total: int
    currency: str
    credits: int
    bonus_credits: int
    created_at: datetime
    status: OrderStatus = OrderStatus.CREATED
    package_id: str | None = None
    provider_payment_id: str | None = None
    paid_at: datetime | None = None
    failure: Mapping[str, Any] | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)
    refunds: Mapping[str, Any] = field(default_factory=dict)
    disputes: Mapping[str, Any] = field(default_factory=dict)
    # Other captured payments of a paid order: money owed back, never credits (by payment id).
    second_payments: Mapping[str, Any] = field(default_factory=dict)
    # Disputes lost: the money and the credits they took back (by dispute id).
    chargebacks: Mapping[str, Any] = field(default_factory=dict)
    # Days the bonus credits last once granted (None: they never expire). Fixed when the order
    # is made, so the user gets the terms they bought under.
    bonus_expiry_days: int | None = None

    @classmethod
    def from_quote(
        cls,
        order_id: str,
        user_id: str,
        quote: Quote,
        *,
        provider: str,
        provider_order_id: str,
        created_at: datetime,
        package_id: str | None = None,
        bonus_expiry_days: int | None = None,
    ) -> CreditOrder:
        return cls(
            id=order_id,
            user_id=user_id,
            provider=provider,
            provider_order_id=provider_order_id,
            amount=quote.amount,
            tax=quote.tax,
            total=quote.total,
            currency=quote.currency,
            credits=quote.credits,
            bonus_credits=quote.bonus_credits,
            created_at=created_at,
            package_id=package_id,
            bonus_expiry_days=bonus_expiry_days,
        )

    @property
    def granted_credits(self) -> int:
        return self.credits + self.bonus_credits

    @property
    def grant_effect_key(self) -> str:
        return grant_effect_key(self.id)


# The order's terms: what the user pays and gets. Its document and its answers (the order and
# the checkout) each carry them under these names.
ORDER_TERMS = (
    "provider",
    "provider_order_id",
    "package_id",
    "amount",
    "tax",
    "total",
    "currency",
    "credits",
    "bonus_credits",
)


def order_terms(order: CreditOrder) -> dict[str, object]:
    return {name: getattr(order, name) for name in ORDER_TERMS}


def grant_effect_key(order_id: str) -> str:
    return f"credit_order:{order_id}:grant"


def refund_effect_key(order_id: str, refund_id: str, episode: int = 1) -> str:
    """The clawback of a refund; a refund returning money again after a restore is ``episode``
    2, 3, ... with keys of their own."""
    key = f"credit_order:{order_id}:refund:{refund_id}"
    return key if episode == 1 else f"{key}:{episode}"


def refund_restore_effect_key(order_id: str, refund_id: str, episode: int = 1) -> str:
    return f"{refund_effect_key(order_id, refund_id, episode)}:restore"


def refund_record(refund_id: str, episode: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Where an episode's fields go in the order's ``refunds`` map: the first at the refund's top
    level (as before episodes existed), later ones under ``episodes.{n}``."""
    if episode == 1:
        return {refund_id: dict(fields)}
    return {refund_id: {"episodes": {str(episode): dict(fields)}}}


def chargeback_effect_key(order_id: str, dispute_id: str) -> str:
    return f"credit_order:{order_id}:chargeback:{dispute_id}"


def paying_refunds(order: CreditOrder, listed: list[ProviderRefund]) -> list[ProviderRefund]:
    """The refunds of the payment that paid ``order``: the only ones that concern its credits.

    A refund that names no payment (Stripe: one PaymentIntent per order) is the order's.
    """
    paying = order.provider_payment_id
    return [r for r in listed if r.payment_id is None or paying is None or r.payment_id == paying]


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[CreditOrder]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class OrderPaid(SideWrite):
    """The order is paid by ``provider_payment_id`` (final; rides in the grant's commit)."""

    order_id: str
    provider_payment_id: str
    paid_at: datetime


@dataclass(frozen=True, slots=True)
class OrderFailed(SideWrite):
    """A payment attempt failed, for the reason the provider gave."""

    order_id: str
    failure: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OrderStatusChanged(SideWrite):
    order_id: str
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class OrderFlagged(SideWrite):
    """A problem for a person to look at (e.g. an amount mismatch), one record per kind."""

    order_id: str
    flag: str
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RefundRecorded(SideWrite):
    """A provider refund of the order and the credits it took back (rides in the clawback)."""

    order_id: str
    refund_id: str
    amount: int
    credits: int
    at: datetime
    episode: int = 1


@dataclass(frozen=True, slots=True)
class RefundRestored(SideWrite):
    """A refund failed or was canceled after its clawback: its credits were given back."""

    order_id: str
    refund_id: str
    credits: int
    status: str
    at: datetime
    episode: int = 1


@dataclass(frozen=True, slots=True)
class RefundOverdraft(SideWrite):
    """The credits of a refund that were already spent: the balance went below zero by this."""

    order_id: str
    refund_id: str
    overdraft: int
    episode: int = 1


@dataclass(frozen=True, slots=True)
class DisputeStateRecorded(SideWrite):
    """A state a dispute reached, kept beside its others (``shared.payments.disputes``)."""

    order_id: str
    dispute_id: str
    status: str
    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SecondPaymentRecorded(SideWrite):
    """Another captured payment of a paid order, or what became of it (merged into its record)."""

    order_id: str
    payment_id: str
    status: str  # needs_refund, refund_pending, refunded, charged_back
    at: datetime
    amount: int | None = None  # the payment's money and currency, when first recorded
    currency: str | None = None
    refund: ProviderRefund | None = None  # a refund of it, kept beside its others
    dispute_id: str | None = None  # the dispute lost on it


@dataclass(frozen=True, slots=True)
class ChargebackRecorded(SideWrite):
    """A dispute lost: the money it took and the credits taken back for it (rides in the
    clawback)."""

    order_id: str
    dispute_id: str
    amount: int
    credits: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ChargebackOverdraft(SideWrite):
    """The credits of a chargeback that were already spent: the balance went below zero by this."""

    order_id: str
    dispute_id: str
    overdraft: int


# Every change of a stored order: through the store, or riding in a ledger commit.
OrderChange = (
    OrderPaid
    | OrderFailed
    | OrderStatusChanged
    | OrderFlagged
    | RefundRecorded
    | RefundRestored
    | RefundOverdraft
    | DisputeStateRecorded
    | SecondPaymentRecorded
    | ChargebackRecorded
    | ChargebackOverdraft
)


class OrderStore(ABC):
    """Port: where credit orders are kept."""

    @abstractmethod
    def create(self, order: CreditOrder) -> bool:
        """Store a new order; False when one with its id exists (a retried purchase made it)."""

    @abstractmethod
    def get(self, order_id: str) -> CreditOrder | None: ...

    @abstractmethod
    def by_provider_order(self, provider: str, provider_order_id: str) -> CreditOrder | None: ...

    @abstractmethod
    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> OrderPage:
        """Return the user's orders, newest first."""

    @abstractmethod
    def update(self, change: OrderChange) -> None:
        """Apply ``change`` to its order; a record (flag, refund, dispute) adds to the others."""


def owned_order(orders: OrderStore, user_id: str, order_id: str) -> CreditOrder:
    """Return the caller's order, or 404 (also for another user's order)."""
    order = orders.get(order_id) if order_id else None
    if order is None or order.user_id != user_id:
        raise NotFound("no such order")
    return order
