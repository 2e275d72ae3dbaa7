"""Refunds of credit purchases started by us (an admin): through the order's provider, once.

1. Reserve, ask the provider, settle lost answers: the engine shared with card payments
   (``shared.payments.refund_reservations``), with its rule (a failed refund frees its amount).
   Reservation ``n`` of an order is ``{order_id}_{n}``; the provider's idempotency key is
   derived from it (Razorpay's ``X-Refund-Idempotency``, Stripe's ``Idempotency-Key``) and the
   reservation id rides in the refund's notes.
2. A retry of the same request (same Idempotency-Key) reuses its reservation; the same key for
   another amount or reason is refused.
3. The credits are taken back through the path of a refund the provider reports
   (``CreditPurchases.claw_back_provider_refunds``), under the refund's own effect key: our
   answer or the provider's webhook, whichever comes first, takes them once.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from shared.accounts.admin_credits import MAX_REASON_LENGTH
from shared.errors import IdempotencyKeyReused, NotFound, Unavailable, invalid_field
from shared.money import require_int_amount
from shared.payments.providers import OrderRefundGateway, ProviderRefund, RefundStatus
from shared.payments.refund_reservations import (
    RESERVATION_METADATA_KEY,
    ListedRefund,
    ReservationStatus,
    ReservationStore,
    amount_to_reserve,
    ask_provider,
    live,
    next_number,
    reservation_id,
    reserve,
    unconfirmed,
)
from shared.payments.refund_reservations import refundable as refundable_amount
from shared.purchases.checkout import CreditPurchases
from shared.purchases.crediting import credits_taken_back
from shared.purchases.orders import CreditOrder, OrderStatus, paying_refunds
from shared.purchases.second_payments import refund_second_payment

ORDER_METADATA_KEY = "credit_order_id"


@dataclass(frozen=True, slots=True)
class OrderRefundRequest:
    order_id: str
    reason: str
    amount: int | None = None  # minor units of the order's currency; None: all still refundable
    # A second payment of the order to refund instead (``shared.purchases.second_payments``).
    payment_id: str | None = None


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
        return reservation_id(self.order_id, self.number)

    @property
    def idempotency_key(self) -> str:
        """The provider's idempotency key: the same for every attempt of this reservation."""
        return f"credit-refund-{self.id}"

    @property
    def live(self) -> bool:
        return live(self)


class OrderRefundStore(ReservationStore[OrderRefundReservation]):
    """Port: where the reservations of refunds of credit orders are kept."""

    @abstractmethod
    def settle(self, reservation: OrderRefundReservation, refund_id: str) -> None:
        """Record the provider's refund made for the reservation."""


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
    if request.payment_id not in (None, order.provider_payment_id):
        return _refund_second_payment(purchases, order, request, request.payment_id)
    if order.chargebacks:
        raise invalid_field("order_id", "the order's payment was charged back: nothing to refund")
    gateway = _refund_gateway(purchases, order.provider)
    # Only the paying payment's refunds: another payment's money is not this order's to count.
    listed = paying_refunds(order, gateway.refunds_of(order.provider_order_id))
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


def _refund_second_payment(
    purchases: CreditPurchases, order: CreditOrder, request: OrderRefundRequest, payment_id: str
) -> OrderRefund:
    refund, made_now = refund_second_payment(
        lambda: purchases.gateway(order.provider),
        purchases.orders,
        order,
        payment_id,
        amount=request.amount,
        now=purchases.clock(),
    )
    return OrderRefund(
        order_id=order.id,
        provider=order.provider,
        refund_id=refund.id,
        amount=refund.amount,
        currency=order.currency,
        status=refund.status or RefundStatus.PENDING,
        credits_taken_back=0,
        reason=request.reason,
        reservation_id="",  # none: the provider's key derives from the payment itself
        made_now=made_now,
    )


def listed_refund(refund: ProviderRefund) -> ListedRefund:
    """A provider's refund of an order in the engine's terms."""
    reservation = refund.notes.get(RESERVATION_METADATA_KEY)
    return ListedRefund(refund.id, refund.amount, not refund.undone, reservation)


def refundable(
    order: CreditOrder,
    reservations: Sequence[OrderRefundReservation],
    listed: Sequence[ProviderRefund],
) -> int:
    """What is left to refund of ``order`` (the engine's rule)."""
    return refundable_amount(order.total, reservations, [listed_refund(r) for r in listed])


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
    amount = amount_to_reserve(refundable(order, existing, listed), request.amount)
    return OrderRefundReservation(
        order.id,
        next_number(existing),
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
    return purchases.gateway(provider)


def _reserve(
    store: OrderRefundStore,
    order: CreditOrder,
    listed: Sequence[ProviderRefund],
    request: OrderRefundRequest,
    *,
    admin_uid: str,
    request_key: str | None,
) -> tuple[OrderRefundReservation, bool]:
    """Reuse this request's live reservation (True), or claim the next number (False)."""

    def settle(reservations: list[OrderRefundReservation]) -> list[OrderRefundReservation]:
        settled = {}
        for reservation, refund in unconfirmed(reservations, [listed_refund(r) for r in listed]):
            store.settle(reservation, refund.id)
            settled[reservation.id] = replace(
                reservation, status=ReservationStatus.SUCCEEDED, refund_id=refund.id
            )
        return [settled.get(r.id, r) for r in reservations]

    def same_request(earlier: OrderRefundReservation) -> None:
        if (earlier.requested_amount, earlier.reason) != (request.amount, request.reason):
            raise IdempotencyKeyReused(
                "Idempotency-Key was already used for another refund of this order"
            )

    def new(existing: list[OrderRefundReservation]) -> OrderRefundReservation:
        return next_reservation(
            order, existing, listed, request, admin_uid=admin_uid, request_key=request_key
        )

    return reserve(
        store,
        order.id,
        request_key=request_key,
        settle=settle,
        same_request=same_request,
        new=new,
    )


def _ask_provider(
    gateway: OrderRefundGateway,
    store: OrderRefundStore,
    order: CreditOrder,
    reservation: OrderRefundReservation,
    *,
    retried: bool,
) -> ProviderRefund:
    """Ask for the reservation's refund (a refusal of its first attempt frees the amount)."""
    notes = {RESERVATION_METADATA_KEY: reservation.id, ORDER_METADATA_KEY: order.id}
    payment_id = order.provider_payment_id
    assert payment_id is not None  # a paid order names its payment
    refund = ask_provider(
        store,
        reservation,
        lambda: gateway.refund_payment(
            payment_id, reservation.amount, notes, reservation.idempotency_key
        ),
        retried=retried,
    )
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
    if not refund.undone and "credits" not in settled:
        # The provider's list does not show the refund yet, so nothing was taken: the retry (or
        # the provider's webhook) takes the credits once it does.
        raise Unavailable("the provider does not list this refund yet; retry", {"retryable": True})
    return OrderRefund(
        order_id=order.id,
        provider=order.provider,
        refund_id=refund.id,
        amount=refund.amount,
        currency=order.currency,
        status=refund.status or RefundStatus.PENDING,
        credits_taken_back=credits_taken_back(settled),
        reason=reservation.reason,
        reservation_id=reservation.id,
        made_now=made_now,
    )
