"""Card payments (seed 004): take a payment, read it, verify it against the gateway."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.errors import NotFound, PaymentDeclined
from shared.log import get_logger
from shared.payments.outbox import OutboxMessage, outcome_notification
from shared.payments.providers import PaymentGateway
from shared.payments.records import (
    CardDeclined,
    GatewayIntent,
    Payment,
    PaymentRequest,
    PaymentStatus,
    PaymentStore,
)

log = get_logger("payments")


@dataclass(frozen=True, slots=True)
class Verification:
    payment: Payment
    provider_status: PaymentStatus

    @property
    def verified(self) -> bool:
        return self.payment.status is self.provider_status


def process_payment(
    gateway: PaymentGateway,
    store: PaymentStore,
    request: PaymentRequest,
    owner_uid: str | None,
    request_key: str | None = None,
) -> Payment:
    """Create a PaymentIntent, record it, confirm it; a decline is recorded, then raised (402).

    Create and confirm are separate calls so the intent id is ours before the card is charged:
    a declined confirmation can then always be recorded against it.

    ``request_key`` (the caller-scoped Idempotency-Key) names the request across the client's
    retries: Stripe dedupes create and confirm on keys derived from it, so a retry after a lost
    answer gets the same PaymentIntent and the same charge. Without it a retry is a new payment.
    """
    request_id = f"pay_{request_key or uuid.uuid4().hex}"
    intent = gateway.create_intent(request, idempotency_key=f"{request_id}:create")
    if request_key is None or store.payment(intent.id) is None:  # a retry keeps the first record
        store.create_payment(intent, request, owner_uid)
    try:
        confirmed = gateway.confirm_intent(intent.id, idempotency_key=f"{request_id}:confirm")
    except CardDeclined as declined:
        failed = GatewayIntent(
            id=intent.id,
            amount=intent.amount,
            currency=intent.currency,
            status=PaymentStatus.FAILED,
            client_secret=intent.client_secret,
            decline_code=declined.decline_code,
            failure_message=declined.message,
            metadata=intent.metadata,
        )
        record_intent(store, failed)
        raise PaymentDeclined(
            declined.message,
            {
                "decline_code": declined.decline_code,
                "payment_intent_id": intent.id,
                "status": PaymentStatus.FAILED.value,
            },
        ) from declined
    record_intent(store, confirmed)
    return owned_payment(store, intent.id, owner_uid)


def record_intent(store: PaymentStore, intent: GatewayIntent) -> bool:
    """Record the state the gateway reports (forward only); notify outcomes once.

    A state the payment is already past (a failure delivered after the success) is kept as
    history but notifies nothing: the event service hears outcomes in their forward order.
    """
    details = {}
    if intent.status is PaymentStatus.FAILED:
        details = {"decline_code": intent.decline_code, "failure_message": intent.failure_message}
    notify = payment_notification(intent)
    if notify is not None:
        known = store.payment(intent.id)
        if known is not None and known.status.rank > intent.status.rank:
            notify = None
    recorded = store.record_status(intent.id, intent.status, details, notify, intent=intent)
    if recorded and notify is not None:  # an outcome, reached for the first time
        outcome = {"kind": "card", "provider": "stripe", "outcome": intent.status.value}
        log.info("payment outcome", extra=outcome)
    return recorded


def payment_notification(intent: GatewayIntent) -> OutboxMessage | None:
    return outcome_notification(
        "payment",
        intent.id,
        intent.status.value,
        {
            "payment_intent_id": intent.id,
            "amount": intent.amount,
            "currency": intent.currency,
            "metadata": dict(intent.metadata),
            "decline_code": intent.decline_code,
        },
    )


def owned_payment(store: PaymentStore, payment_intent_id: str, owner_uid: str | None) -> Payment:
    """Return the payment if ``owner_uid`` made it; others get the same 404 as a missing one."""
    payment = store.payment(payment_intent_id)
    if payment is None or payment.owner_uid != owner_uid:
        raise NotFound(f"no payment {payment_intent_id}", {"payment_intent_id": payment_intent_id})
    return payment


def verify_payment(
    gateway: PaymentGateway, store: PaymentStore, payment_intent_id: str, owner_uid: str | None
) -> Verification:
    """Refresh our record from the gateway (forward only) and say whether the two agree."""
    owned_payment(store, payment_intent_id, owner_uid)
    intent = gateway.retrieve_intent(payment_intent_id)
    record_intent(store, intent)
    return Verification(owned_payment(store, payment_intent_id, owner_uid), intent.status)
