"""Stripe webhook events: verified by the gateway, deduplicated on event id, applied forward only.

A replayed event costs one read and writes nothing. Concurrent deliveries of one event (or of
two events saying the same thing) are safe because every effect is guarded by its own
deterministic document (see ``shared.adapters.firestore_payments``), not by the event record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.card_payments import payment_notification
from shared.log import get_logger
from shared.outbox import OutboxMessage
from shared.payments import GatewayEvent, GatewayIntent, PaymentStatus, PaymentStore
from shared.refunds import refund_notification

log = get_logger("stripe_events")

HANDLED = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
        "checkout.session.completed",
        "checkout.session.expired",
    }
)

# Called once per paid credit order (metadata.credit_order_id) with the intent and the event id;
# the credits work wires it to grant_purchase_credits (its own effect key makes it exactly once).
CreditOrderPaid = Callable[[str, GatewayIntent, str], None]
# Called with the PaymentIntent id of a refunded payment that is not a seed-004 payment; the
# credits work takes back the credits of every refund of it, each once.
CreditOrderRefunded = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    event_id: str
    type: str
    duplicate: bool = False
    handled: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "received": True,
            "id": self.event_id,
            "type": self.type,
            "duplicate": self.duplicate,
            "handled": self.handled,
        }


def handle_event(
    store: PaymentStore,
    event: GatewayEvent,
    credit_order_paid: CreditOrderPaid | None = None,
    credit_order_refunded: CreditOrderRefunded | None = None,
) -> EventOutcome:
    if store.event_seen(event.id):
        return EventOutcome(event.id, event.type, duplicate=True)
    if event.type.startswith("payment_intent.") and event.intent is not None:
        _on_intent(store, event, event.intent, credit_order_paid)
    elif event.type in ("charge.succeeded", "charge.failed"):
        _on_charge(store, event)
    elif event.type == "charge.refunded":
        _on_refunded(store, event, credit_order_refunded)
    elif event.type.startswith("charge.dispute.") and event.dispute and event.payment_intent_id:
        _on_dispute(store, event)
    elif event.type.startswith("checkout.session.") and event.checkout_session:
        store.record_checkout_session(event.checkout_session, event.type)
    store.mark_event(event)
    return EventOutcome(event.id, event.type, handled=event.type in HANDLED)


def _on_intent(
    store: PaymentStore,
    event: GatewayEvent,
    intent: GatewayIntent,
    credit_order_paid: CreditOrderPaid | None,
) -> None:
    credit_order_id = intent.metadata.get("credit_order_id")
    if credit_order_id:
        # A Stripe credit purchase: the credits domain grants it (once, however often this event
        # arrives). It is not a seed-004 payment, so no payment record or notification.
        if intent.status is not PaymentStatus.SUCCEEDED:
            return
        if credit_order_paid is None:
            log.warning(
                "credit order paid but no grant hook is wired", extra={"order": credit_order_id}
            )
        else:
            credit_order_paid(credit_order_id, intent, event.id)
        return
    details = {}
    if intent.status is PaymentStatus.FAILED:
        details = {"decline_code": intent.decline_code, "failure_message": intent.failure_message}
    store.record_status(
        intent.id, intent.status, details, payment_notification(intent), intent=intent
    )


def _on_refunded(
    store: PaymentStore, event: GatewayEvent, credit_order_refunded: CreditOrderRefunded | None
) -> None:
    for refund in event.refunds:  # seed-004 refunds, when the charge lists them
        if store.refund(refund.id) is not None:
            store.update_refund(refund, refund_notification(refund))
    pi = event.payment_intent_id
    if pi and credit_order_refunded is not None and store.payment(pi) is None:
        # Not a seed-004 payment: maybe a credit purchase. The charge names no refund in
        # current API versions, so the credits work reads them all from Stripe.
        credit_order_refunded(pi)


def _on_charge(store: PaymentStore, event: GatewayEvent) -> None:
    if not event.payment_intent_id or event.payment_status is None:
        return
    payment = store.payment(event.payment_intent_id)
    if payment is None:
        return  # a charge of a payment we did not make; the intent events carry what we need
    intent = GatewayIntent(
        id=payment.payment_intent_id,
        amount=payment.amount,
        currency=payment.currency,
        status=event.payment_status,
        client_secret=None,
        decline_code=event.decline_code,
        failure_message=event.failure_message,
        metadata=payment.metadata,
    )
    details = {}
    if event.payment_status is PaymentStatus.FAILED:
        details = {"decline_code": event.decline_code, "failure_message": event.failure_message}
    store.record_status(intent.id, intent.status, details, payment_notification(intent))


def _on_dispute(store: PaymentStore, event: GatewayEvent) -> None:
    assert event.dispute is not None and event.payment_intent_id is not None
    suffix = event.type.removeprefix("charge.dispute.")
    notify = OutboxMessage(
        type=f"payment.dispute_{suffix}",
        subject_id=f"{event.dispute['id']}.{event.dispute.get('status')}",
        data={"payment_intent_id": event.payment_intent_id, "dispute": dict(event.dispute)},
    )
    store.record_dispute(event.payment_intent_id, event.dispute, notify)
