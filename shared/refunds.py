"""Refunds of card payments: full or partial, never more than was captured, even when raced.

Each refund first reserves its amount (``RefundReservation``: a deterministic document created
as the first write of its commit), then asks the gateway, with an idempotency key derived from
the reservation. A refusal from the gateway releases the reservation; an unknown outcome (no
answer) keeps it, so the money is never refunded twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.card_payments import owned_payment
from shared.errors import NotFound, ProviderError, ProviderRejected, Unavailable
from shared.outbox import OutboxMessage
from shared.payments import (
    GatewayRefund,
    Payment,
    PaymentGateway,
    PaymentStore,
    Refund,
    RefundReservation,
    RefundStatus,
    next_reservation,
)

MAX_RESERVATION_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_intent_id: str
    amount: int | None = None  # None: everything still refundable
    reason: str | None = None
    metadata: Mapping[str, str] | None = None


def refund_payment(
    gateway: PaymentGateway, store: PaymentStore, request: RefundRequest, owner_uid: str | None
) -> Refund:
    payment = owned_payment(store, request.payment_intent_id, owner_uid)
    reservation = _reserve(store, request, payment)
    try:
        result = gateway.create_refund(
            payment.payment_intent_id,
            reservation.amount,
            dict(request.metadata or {}),
            idempotency_key=f"refund:{reservation.id}",
        )
    except ProviderRejected as error:
        store.release(reservation, error.message)
        raise
    refund = Refund(
        refund_id=result.id,
        payment_intent_id=payment.payment_intent_id,
        amount=result.amount,
        currency=result.currency,
        status=result.status,
        owner_uid=owner_uid,
        reason=request.reason,  # kept here: localstripe refuses `reason`
        metadata=dict(request.metadata or {}),
        reservation_id=reservation.id,
    )
    store.complete_refund(reservation, refund, refund_notification(result))
    return refund


def _reserve(store: PaymentStore, request: RefundRequest, payment: Payment) -> RefundReservation:
    """Claim the next reservation number; a loser of the race recounts and tries the next."""
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        existing = store.reservations(payment.payment_intent_id)
        reservation = next_reservation(payment, existing, request.amount)
        if store.reserve(reservation):
            return reservation
    raise Unavailable("the payment is busy with other refunds; retry", {"retryable": True})


def refund_notification(refund: GatewayRefund) -> OutboxMessage | None:
    if refund.status not in (RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.CANCELED):
        return None
    return OutboxMessage(
        type=f"refund.{refund.status.value}",
        subject_id=refund.id,
        data={
            "refund_id": refund.id,
            "payment_intent_id": refund.payment_intent_id,
            "amount": refund.amount,
            "currency": refund.currency,
            "status": refund.status.value,
        },
    )


def owned_refund(store: PaymentStore, refund_id: str, owner_uid: str | None) -> Refund:
    refund = store.refund(refund_id)
    if refund is None or refund.owner_uid != owner_uid:
        raise NotFound(f"no refund {refund_id}", {"refund_id": refund_id})
    return refund


def verify_refund(
    gateway: PaymentGateway, store: PaymentStore, refund_id: str, owner_uid: str | None
) -> tuple[Refund, RefundStatus]:
    """Refresh our refund from the gateway; return it and the gateway's status."""
    owned_refund(store, refund_id, owner_uid)
    try:
        result = gateway.retrieve_refund(refund_id)
    except ProviderRejected as error:
        raise ProviderError(error.message, error.details) from error
    store.update_refund(result, refund_notification(result))
    return owned_refund(store, refund_id, owner_uid), result.status
