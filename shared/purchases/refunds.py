"""Refunds of credit purchases started by us (an admin): through the order's provider, once.

1. The amount is reserved first. Reservation ``n`` of an order is the deterministic document
   ``{order_id}_{n}``, created as the first write of its commit (docs/ledger.md's concurrency rule),
   and counted against what is still refundable: the order's total less the refunds the provider
   reports returning money (ours or made in its dashboard) and less our reservations it does not
   report yet. A retry of the same request (same Idempotency-Key) reuses its reservation.
2. The provider is asked with an idempotency key derived from the reservation (Razorpay's
   ``X-Refund-Idempotency``, Stripe's ``Idempotency-Key``) and the reservation id in the refund's
   notes, so an answer lost after the provider acted is never a second refund: the retry gets
   the same refund back, and another request first settles the reservation from the provider's
   list of the order's refunds.
3. The credits are taken back through the path of a refund the provider reports
   (``CreditPurchases.claw_back_provider_refunds``), under the refund's own effect key: our
   answer or the provider's webhook, whichever comes first, takes them once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from shared.accounts.admin_credits import MAX_REASON_LENGTH
from shared.errors import (
    IdempotencyKeyReused,
    NotFound,
    ProviderRejected,
    Unavailable,
    invalid_field,
)
from shared.money import require_int_amount
from shared.payments.providers import OrderRefundGateway, ProviderRefund, RefundStatus
from shared.payments.refunds import RESERVATION_METADATA_KEY, ReservationStatus
from shared.purchases.checkout import CreditPurchases
from shared.purchases.orders import CreditOrder, OrderStatus

MAX_RESERVATION_ATTEMPTS = 20
ORDER_METADATA_KEY = "credit_order_id"


@dataclass(frozen=True, slots=True)
class OrderRefundRequest:
    order_id: str
    reason: str
    amount: int | None = None  # minor units of the order's currency; None: all still refundable


@dataclass(frozen=True, slots=True)
class OrderRefundReservation:
    """A claim on part of an order's payment, made before its provider is asked to refund it."""

    order_id: str
    number: int
    amount: int
    requested_amount: int | None  # what the admin asked for (None: the rest)
    reason: str
    admin_uid: str
    # The caller-scoped Idempotency-Key of the request that made it: its retries reuse it.
    request_key: str | None = None
    status: ReservationStatus = ReservationStatus.RESERVED
    refund_id: str | None = None

    @property
    def id(self) -> str:
        return f"{self.order_id}_{self.number:04d}"

    @property
    def idempotency_key(self) -> str:
        """The provider's idempotency key: the same for every attempt of this reservation."""
        return f"credit-refund-{self.id}"

    @property
    def live(self) -> bool:
        return self.status is not ReservationStatus.RELEASED


class OrderRefundStore(ABC):
    """Port: where the reservations of refunds of credit orders are kept."""

    @abstractmethod
    def reservations(self, order_id: str) -> list[OrderRefundReservation]: ...

    @abstractmethod
    def reserve(self, reservation: OrderRefundReservation) -> bool:
        """Create the reservation; False when a concurrent refund took its number first."""

    @abstractmethod
    def settle(self, reservation: OrderRefundReservation, refund_id: str) -> None:
        """Record the provider's refund made for the reservation."""

    @abstractmethod
    def release(self, reservation: OrderRefundReservation, reason: str) -> None:
        """Free the amount: the provider refused, nothing was refunded."""


@dataclass(frozen=True, slots=True)
class OrderRefund:
    """A refund of a credit order made through its provider, as the admin endpoint answers."""

    order_id: str
    provider: str
    refund_id: str
    amount: int
    currency: str
    status: RefundStatus
    credits_taken_back: int
    reason: str
    reservation_id: str
    made_now: bool  # False: an earlier attempt of this request made it


def refund_credit_order(
    purchases: CreditPurchases,
    store: OrderRefundStore,
    request: OrderRefundRequest,
    admin_uid: str,
    request_key: str | None = None,
) -> OrderRefund:
    """Refund (part of) a paid credit order through its provider and take its credits back."""
    request = replace(request, reason=_checked_reason(request.reason))
    if request.amount is not None and require_int_amount(request.amount) <= 0:
        raise invalid_field("amount", "must be a positive integer in minor units")
    order = purchases.orders.get(request.order_id)
    if order is None:
        raise NotFound("no such order", {"order_id": request.order_id})
    if order.status is not OrderStatus.PAID or not order.provider_payment_id:
        raise invalid_field("order_id", f"the order is {order.status.value}, not paid")
    gateway = _refund_gateway(purchases, order.provider)
    listed = gateway.refunds_of(order.provider_order_id)
    reservation, retried = _reserve(
        store, order, listed, request, admin_uid=admin_uid, request_key=request_key
    )
    made_now = reservation.refund_id is None
    if made_now:
        refund = _ask_provider(gateway, store, order, reservation, retried=retried)
    else:
        refund = _listed(listed, reservation)
    purchases.claw_back_provider_refunds(order.provider, order.provider_order_id)
    return _answer(purchases, order, reservation, refund, made_now)


def refundable(
    order: CreditOrder,
    reservations: Sequence[OrderRefundReservation],
    listed: Sequence[ProviderRefund],
) -> int:
    """What is left to refund of ``order``: its total less what is refunded or on its way.

    A reservation the provider does not list (its answer was lost, it is under way, or the list
    lags) counts by its own amount: that can refuse too much, never refund too much.
    """
    by_id = {r.id: r for r in listed}
    counted: set[str] = set()
    taken = 0
    for reservation in reservations:
        if not reservation.live:
            continue
        refund = by_id.get(reservation.refund_id or "")
        if refund is None:
            taken += reservation.amount
            continue
        counted.add(refund.id)
        taken += refund.amount if refund.returning_money else 0  # a failed one is refundable again
    taken += sum(r.amount for r in listed if r.returning_money and r.id not in counted)
    return order.total - taken


def next_reservation(
    order: CreditOrder,
    existing: Sequence[OrderRefundReservation],
    listed: Sequence[ProviderRefund],
    request: OrderRefundRequest,
    *,
    admin_uid: str,
    request_key: str | None,
) -> OrderRefundReservation:
    """Decide the next reservation of ``order``, or raise a 400 naming ``amount``."""
    left = refundable(order, existing, listed)
    if left <= 0:
        raise invalid_field("amount", "nothing is left to refund on this order")
    amount = left if request.amount is None else request.amount
    if amount > left:
        raise invalid_field("amount", f"at most {left} is refundable")
    return OrderRefundReservation(
        order.id,
        max((r.number for r in existing), default=0) + 1,
        amount,
        request.amount,
        request.reason,
        admin_uid,
        request_key,
    )


def _checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise invalid_field("reason", f"must be 1-{MAX_REASON_LENGTH} characters")
    return reason


def _refund_gateway(purchases: CreditPurchases, provider: str) -> OrderRefundGateway:
    gateway = purchases.gateways[provider]()
    if not isinstance(gateway, OrderRefundGateway):
        raise TypeError(f"{provider} does not refund credit orders")
    return gateway


def _reserve(
    store: OrderRefundStore,
    order: CreditOrder,
    listed: Sequence[ProviderRefund],
    request: OrderRefundRequest,
    *,
    admin_uid: str,
    request_key: str | None,
) -> tuple[OrderRefundReservation, bool]:
    """Reuse this request's live reservation (True), or claim the next number (a loser
    recounts)."""
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        existing = _settle_unconfirmed(store, store.reservations(order.id), listed)
        for earlier in existing:
            if earlier.live and request_key is not None and earlier.request_key == request_key:
                if (earlier.requested_amount, earlier.reason) != (request.amount, request.reason):
                    raise IdempotencyKeyReused(
                        "Idempotency-Key was already used for another refund of this order"
                    )
                return earlier, True
        reservation = next_reservation(
            order, existing, listed, request, admin_uid=admin_uid, request_key=request_key
        )
        if store.reserve(reservation):
            return reservation, False
    raise Unavailable("the order is busy with other refunds; retry", {"retryable": True})


def _settle_unconfirmed(
    store: OrderRefundStore,
    reservations: list[OrderRefundReservation],
    listed: Sequence[ProviderRefund],
) -> list[OrderRefundReservation]:
    """Record the refunds the provider made for reservations whose answer was lost."""
    made_for = {r.notes.get(RESERVATION_METADATA_KEY): r.id for r in listed}
    settled = []
    for reservation in reservations:
        refund_id = made_for.get(reservation.id)
        if reservation.status is ReservationStatus.RESERVED and refund_id is not None:
            store.settle(reservation, refund_id)
            settled.append(
                replace(reservation, status=ReservationStatus.SUCCEEDED, refund_id=refund_id)
            )
        else:
            settled.append(reservation)
    return settled


def _ask_provider(
    gateway: OrderRefundGateway,
    store: OrderRefundStore,
    order: CreditOrder,
    reservation: OrderRefundReservation,
    *,
    retried: bool,
) -> ProviderRefund:
    """Ask for the reservation's refund; a refusal of its first attempt frees the amount.

    A retry's refusal keeps it counted: the first attempt may still be under way at the
    provider (Razorpay answers a retry 409 while it processes the first), and only the
    provider's list of refunds settles that.
    """
    notes = {RESERVATION_METADATA_KEY: reservation.id, ORDER_METADATA_KEY: order.id}
    assert order.provider_payment_id is not None  # a paid order names its payment
    try:
        refund = gateway.refund_payment(
            order.provider_payment_id, reservation.amount, notes, reservation.idempotency_key
        )
    except ProviderRejected as error:
        if not retried:
            store.release(reservation, error.message)  # refused: nothing was refunded
        raise
    store.settle(reservation, refund.id)
    return refund


def _listed(
    listed: Sequence[ProviderRefund], reservation: OrderRefundReservation
) -> ProviderRefund:
    for refund in listed:
        if refund.id == reservation.refund_id:
            return refund
    raise Unavailable("the provider does not list this refund yet; retry", {"retryable": True})


def _answer(
    purchases: CreditPurchases,
    order: CreditOrder,
    reservation: OrderRefundReservation,
    refund: ProviderRefund,
    made_now: bool,
) -> OrderRefund:
    settled = (purchases.orders.get(order.id) or order).refunds.get(refund.id) or {}
    if refund.returning_money and "credits" not in settled:
        # The provider's list does not show the refund yet, so nothing was taken: the retry (or
        # the provider's webhook) takes the credits once it does.
        raise Unavailable("the provider does not list this refund yet; retry", {"retryable": True})
    restored = (settled.get("restored") or {}).get("credits", 0)
    return OrderRefund(
        order_id=order.id,
        provider=order.provider,
        refund_id=refund.id,
        amount=refund.amount,
        currency=order.currency,
        status=refund.status or RefundStatus.PENDING,
        credits_taken_back=int(settled.get("credits", 0)) - int(restored),
        reason=reservation.reason,
        reservation_id=reservation.id,
        made_now=made_now,
    )
