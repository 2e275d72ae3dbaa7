"""Refunds of card payments: full or partial, never more than was captured, even when raced.

Each refund first reserves its amount (``RefundReservation``: a deterministic document created
as the first write of its commit), then asks the gateway, with an idempotency key derived from
the reservation and the reservation's id in the refund's metadata. A refusal from the gateway
releases the reservation; an unknown outcome (no answer) keeps it, so the money is never
refunded twice. Before reserving anew, reservations left unconfirmed by a lost answer are settled
from the gateway's own list of the payment's refunds, and a retry of the same request (same
Idempotency-Key) reuses its reservation instead of taking another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.card_payments import owned_payment
from shared.errors import NotFound, ProviderError, ProviderRejected, Unavailable
from shared.outbox import OutboxMessage, outcome_notification
from shared.payments import (
    GatewayRefund,
    Payment,
    PaymentGateway,
    PaymentStore,
    Refund,
    RefundReservation,
    RefundStatus,
    ReservationStatus,
    next_reservation,
)

MAX_RESERVATION_ATTEMPTS = 20
# The refund's metadata key that ties a provider refund to the reservation it was made for.
RESERVATION_METADATA_KEY = "billing_reservation_id"


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_intent_id: str
    amount: int | None = None  # None: everything still refundable
    reason: str | None = None
    metadata: Mapping[str, str] | None = None


def refund_payment(
    gateway: PaymentGateway,
    store: PaymentStore,
    request: RefundRequest,
    owner_uid: str | None,
    request_key: str | None = None,
) -> Refund:
    """Refund (part of) a payment once; ``request_key`` is the caller-scoped Idempotency-Key."""
    payment = owned_payment(store, request.payment_intent_id, owner_uid)
    _settle_unconfirmed(gateway, store, payment)
    reservation = _reserve(store, request, payment, request_key)
    if reservation.refund_id is not None:  # an earlier attempt of this request was settled
        return owned_refund(store, reservation.refund_id, owner_uid)
    metadata = dict(request.metadata or {})
    try:
        result = gateway.create_refund(
            payment.payment_intent_id,
            reservation.amount,
            {**metadata, RESERVATION_METADATA_KEY: reservation.id},
            idempotency_key=f"refund:{reservation.id}",
        )
    except ProviderRejected as error:
        store.release(reservation, error.message)
        raise
    refund = _refund_record(payment, reservation, result, metadata)
    store.complete_refund(reservation, refund, refund_notification(result))
    return owned_refund(store, refund.refund_id, owner_uid)  # as stored: with its times


def _settle_unconfirmed(gateway: PaymentGateway, store: PaymentStore, payment: Payment) -> None:
    """Complete the reservations whose refund the gateway made though its answer was lost.

    A reservation the gateway has no refund for stays counted: its request may still be under
    way, and counting it can only refuse too much, never refund too much.
    """
    unconfirmed = {
        r.id: r
        for r in store.reservations(payment.payment_intent_id)
        if r.status is ReservationStatus.RESERVED
    }
    if not unconfirmed:
        return
    for result in gateway.refunds_of(payment.payment_intent_id):
        reservation = unconfirmed.get(result.metadata.get(RESERVATION_METADATA_KEY, ""))
        if reservation is not None:
            metadata = {k: v for k, v in result.metadata.items() if k != RESERVATION_METADATA_KEY}
            refund = _refund_record(payment, reservation, result, metadata)
            store.complete_refund(reservation, refund, refund_notification(result))


def _reserve(
    store: PaymentStore, request: RefundRequest, payment: Payment, request_key: str | None
) -> RefundReservation:
    """Reuse this request's live reservation, or claim the next number (a loser recounts)."""
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        existing = store.reservations(payment.payment_intent_id)
        for earlier in existing:
            live = earlier.status is not ReservationStatus.RELEASED
            if live and request_key is not None and earlier.request_key == request_key:
                return earlier
        reservation = next_reservation(
            payment, existing, request.amount, request_key, request.reason
        )
        if store.reserve(reservation):
            return reservation
    raise Unavailable("the payment is busy with other refunds; retry", {"retryable": True})


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


def record_refund(store: PaymentStore, result: GatewayRefund, known: Refund) -> bool:
    """Record the refund's state the gateway reports (forward only); notify it once.

    A state the refund is already past (a late ``pending`` after ``succeeded``) is kept as
    history but changes nothing and notifies nothing.
    """
    notify = refund_notification(result)
    if known.status.rank > result.status.rank:
        notify = None
    return store.update_refund(result, notify)


def owned_refund(store: PaymentStore, refund_id: str, owner_uid: str | None) -> Refund:
    refund = store.refund(refund_id)
    if refund is None or refund.owner_uid != owner_uid:
        raise NotFound(f"no refund {refund_id}", {"refund_id": refund_id})
    return refund


def verify_refund(
    gateway: PaymentGateway, store: PaymentStore, refund_id: str, owner_uid: str | None
) -> tuple[Refund, RefundStatus]:
    """Refresh our refund from the gateway; return it and the gateway's status."""
    known = owned_refund(store, refund_id, owner_uid)
    try:
        result = gateway.retrieve_refund(refund_id)
    except ProviderRejected as error:
        raise ProviderError(error.message, error.details) from error
    record_refund(store, result, known)
    return owned_refund(store, refund_id, owner_uid), result.status
