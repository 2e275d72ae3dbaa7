"""Refunds of card payments: full or partial, never more than was captured, even when raced.

Reserve, ask Stripe with a key derived from the reservation, settle lost answers from Stripe's
list of the payment's refunds: the engine shared with credit orders
(``shared.payments.refund_reservations``), whose rule this follows (a failed refund frees its
amount). Here: the reservation's shape, and the refund record our API answers with.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.errors import NotFound, ProviderError, ProviderRejected, invalid_field
from shared.money import require_int_amount
from shared.payments.card_payments import owned_payment
from shared.payments.outbox import OutboxMessage, outcome_notification
from shared.payments.providers import (
    FINAL_REFUND_FAILURES,
    GatewayRefund,
    PaymentGateway,
    RefundStatus,
)
from shared.payments.records import Payment, PaymentStatus, PaymentStore
from shared.payments.refund_reservations import (
    RESERVATION_METADATA_KEY,
    ListedRefund,
    ReservationStatus,
    ReservationStore,
    amount_to_reserve,
    ask_provider,
    next_number,
    refundable,
    reservation_id,
    reserve,
    unconfirmed,
)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_intent_id: str
    amount: int | None = None  # None: everything still refundable
    reason: str | None = None
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """Our record of a refund, as the API returns it."""

    refund_id: str
    payment_intent_id: str
    amount: int
    currency: str
    status: RefundStatus
    owner_uid: str | None
    reason: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    reservation_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundReservation:
    """A claim on part of a payment, made before Stripe is asked to refund it (id
    ``{payment_intent_id}_{n}``: see ``shared.payments.refund_reservations``)."""

    payment_intent_id: str
    number: int
    amount: int
    reserved_total: int  # sum of live reservations including this one, when it was made
    status: ReservationStatus = ReservationStatus.RESERVED
    refund_id: str | None = None
    # The caller-scoped Idempotency-Key of the request that made it: its retries reuse it.
    request_key: str | None = None
    reason: str | None = None  # kept here for the refund record (localstripe refuses `reason`)

    @property
    def id(self) -> str:
        return reservation_id(self.payment_intent_id, self.number)


def listed_refund(refund: GatewayRefund) -> ListedRefund:
    """A Stripe refund in the engine's terms."""
    return ListedRefund(
        refund.id,
        refund.amount,
        refund.status not in FINAL_REFUND_FAILURES,
        refund.metadata.get(RESERVATION_METADATA_KEY),
    )


def next_reservation(
    payment: Payment,
    existing: list[RefundReservation],
    amount: int | None,
    request_key: str | None = None,
    reason: str | None = None,
    *,
    listed: Sequence[GatewayRefund] = (),
) -> RefundReservation:
    """Decide the next reservation of ``payment``, or raise a 400 if it does not fit."""
    if payment.status is not PaymentStatus.SUCCEEDED:
        raise invalid_field(
            "payment_intent_id", f"payment is {payment.status.value}, not refundable"
        )
    if any(d.get("status") == "lost" for d in payment.disputes.values()):
        # The card's bank returned the money already (Stripe would refuse it too: as for orders).
        raise invalid_field("payment_intent_id", "the payment was charged back: nothing to refund")
    if amount is not None:
        require_int_amount(amount)
        if amount <= 0:
            raise invalid_field("amount", "must be a positive integer in minor units")
    left = refundable(payment.captured, existing, [listed_refund(r) for r in listed])
    wanted = amount_to_reserve(left, amount)
    return RefundReservation(
        payment.payment_intent_id,
        next_number(existing),
        wanted,
        payment.captured - left + wanted,
        request_key=request_key,
        reason=reason,
    )


class RefundGateway(PaymentGateway):
    """A card gateway that refunds too (Stripe)."""

    @abstractmethod
    def create_refund(
        self, intent_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayRefund: ...

    @abstractmethod
    def retrieve_refund(self, refund_id: str) -> GatewayRefund: ...

    @abstractmethod
    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        """Every refund of a PaymentIntent, whoever made it (our API, the Dashboard, ...)."""


class RefundStore(PaymentStore, ReservationStore[RefundReservation]):
    """Where payments are kept, with their refunds and the reservations made for them."""

    @abstractmethod
    def complete_refund(
        self, reservation: RefundReservation | None, refund: Refund, notify: OutboxMessage | None
    ) -> bool:
        """Record ``refund`` (its reservation's, or None for one made outside our API) and add
        its amount to the payment's once: False if it was recorded already."""

    @abstractmethod
    def refund(self, refund_id: str) -> Refund | None: ...

    @abstractmethod
    def update_refund(self, refund: GatewayRefund, notify: OutboxMessage | None) -> bool: ...


def refund_payment(
    gateway: RefundGateway,
    store: RefundStore,
    request: RefundRequest,
    owner_uid: str | None,
    request_key: str | None = None,
) -> Refund:
    """Refund (part of) a payment once; ``request_key`` is the caller-scoped Idempotency-Key."""
    payment = owned_payment(store, request.payment_intent_id, owner_uid)
    listed = gateway.refunds_of(payment.payment_intent_id)

    def settle(reservations: list[RefundReservation]) -> list[RefundReservation]:
        return _settle_unconfirmed(store, payment, reservations, listed)

    def new(existing: list[RefundReservation]) -> RefundReservation:
        return next_reservation(
            payment, existing, request.amount, request_key, request.reason, listed=listed
        )

    reservation, retried = reserve(
        store,
        payment.payment_intent_id,
        request_key=request_key,
        settle=settle,
        same_request=lambda earlier: None,  # a card refund's key names the request already
        new=new,
    )
    if reservation.refund_id is not None:  # an earlier attempt of this request was settled
        return owned_refund(store, reservation.refund_id, owner_uid)
    metadata = dict(request.metadata or {})
    result = ask_provider(
        store,
        reservation,
        lambda: gateway.create_refund(
            payment.payment_intent_id,
            reservation.amount,
            {**metadata, RESERVATION_METADATA_KEY: reservation.id},
            idempotency_key=f"refund:{reservation.id}",
        ),
        retried=retried,
    )
    refund = _refund_record(payment, reservation, result, metadata)
    store.complete_refund(reservation, refund, refund_notification(result))
    return owned_refund(store, refund.refund_id, owner_uid)  # as stored: with its times


def _settle_unconfirmed(
    store: RefundStore,
    payment: Payment,
    reservations: list[RefundReservation],
    listed: list[GatewayRefund],
) -> list[RefundReservation]:
    """Complete the reservations whose refund Stripe made though its answer was lost."""
    by_id = {r.id: r for r in listed}
    settled = {}
    for reservation, found in unconfirmed(reservations, [listed_refund(r) for r in listed]):
        result = by_id[found.id]
        metadata = {k: v for k, v in result.metadata.items() if k != RESERVATION_METADATA_KEY}
        refund = _refund_record(payment, reservation, result, metadata)
        store.complete_refund(reservation, refund, refund_notification(result))
        settled[reservation.id] = replace(
            reservation, status=ReservationStatus.SUCCEEDED, refund_id=result.id
        )
    return [settled.get(r.id, r) for r in reservations]


def _refund_record(
    payment: Payment,
    reservation: RefundReservation,
    result: GatewayRefund,
    metadata: Mapping[str, str],
) -> Refund:
    return Refund(
        refund_id=result.id,
        payment_intent_id=payment.payment_intent_id,
        amount=result.amount,
        currency=result.currency,
        status=result.status,
        owner_uid=payment.owner_uid,
        reason=reservation.reason,  # kept by us: localstripe refuses `reason`
        metadata=metadata,
        reservation_id=reservation.id,
    )


def refund_notification(refund: GatewayRefund) -> OutboxMessage | None:
    return outcome_notification(
        "refund",
        refund.id,
        refund.status.value,
        {
            "refund_id": refund.id,
            "payment_intent_id": refund.payment_intent_id,
            "amount": refund.amount,
            "currency": refund.currency,
        },
    )


def record_refund(store: RefundStore, result: GatewayRefund, known: Refund) -> bool:
    """Record the refund's state the gateway reports (forward only); notify it once.

    A state the refund is already past (a late ``pending`` after ``succeeded``) is kept as
    history but changes nothing and notifies nothing.
    """
    notify = refund_notification(result)
    if known.status.rank > result.status.rank:
        notify = None
    return store.update_refund(result, notify)


def settle_reported_refund(store: RefundStore, result: GatewayRefund) -> bool:
    """Record a refund Stripe reports before our answer to the request that made it landed.

    Its webhook can outrun the answer (or the answer was lost): the refund names the reservation
    it was made for, so it is completed from the report, with its status and notification; the
    answer, when it lands, finds it recorded and changes nothing. False if it is none of ours
    (a dashboard refund, a credit order's).
    """
    made_for = result.metadata.get(RESERVATION_METADATA_KEY)
    payment = store.payment(result.payment_intent_id) if made_for else None
    if payment is None:
        return False
    for reservation in store.reservations(payment.payment_intent_id):
        if reservation.id == made_for and reservation.status is ReservationStatus.RESERVED:
            metadata = {k: v for k, v in result.metadata.items() if k != RESERVATION_METADATA_KEY}
            record = _refund_record(payment, reservation, result, metadata)
            store.complete_refund(reservation, record, refund_notification(result))
            return True
    return False


def record_outside_refund(store: RefundStore, result: GatewayRefund) -> bool:
    """Record a refund of one of our card payments made outside our API (Stripe's Dashboard).

    Refundability counts it already (it reads Stripe's list); recording it puts it in the
    payment's ``amount_refunded`` and the refund's notification, once: the refund's record is
    the guard, so every later report of it goes through ``record_refund``. False if the payment
    is none of ours (a credit order's intent has no payment record: the credits work sees it).
    """
    payment = store.payment(result.payment_intent_id) if result.payment_intent_id else None
    if payment is None:
        return False
    metadata = {k: v for k, v in result.metadata.items() if k != RESERVATION_METADATA_KEY}
    record = Refund(
        refund_id=result.id,
        payment_intent_id=payment.payment_intent_id,
        amount=result.amount,
        currency=result.currency,
        status=result.status,
        owner_uid=payment.owner_uid,  # the payment's owner reads it as one of their refunds
        metadata=metadata,
    )
    if store.complete_refund(None, record, refund_notification(result)):
        return True
    known = store.refund(result.id)  # a concurrent report of it recorded it first
    return known is not None and record_refund(store, result, known)


def owned_refund(store: RefundStore, refund_id: str, owner_uid: str | None) -> Refund:
    refund = store.refund(refund_id)
    if refund is None or refund.owner_uid != owner_uid:
        raise NotFound(f"no refund {refund_id}", {"refund_id": refund_id})
    return refund


def verify_refund(
    gateway: RefundGateway, store: RefundStore, refund_id: str, owner_uid: str | None
) -> tuple[Refund, RefundStatus]:
    """Refresh our refund from the gateway; return it and the gateway's status."""
    known = owned_refund(store, refund_id, owner_uid)
    try:
        result = gateway.retrieve_refund(refund_id)
    except ProviderRejected as error:
        raise ProviderError(error.message, error.details) from error
    record_refund(store, result, known)
    return owned_refund(store, refund_id, owner_uid), result.status
