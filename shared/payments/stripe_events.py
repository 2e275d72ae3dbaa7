"""Stripe webhooks: apply each verified event once, forward only.

The adapter (``shared.adapters.stripe_gateway``) has checked the signature over the raw body and
converted the event; here it is deduplicated on its id and applied. A replayed event costs one
read and writes nothing. Concurrent deliveries of one event (or of two events saying the same
thing) are safe because every effect is guarded by its own deterministic document (see
``shared.adapters.firestore_payments``), not by the event record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.log import get_logger
from shared.payments.card_payments import record_intent
from shared.payments.disputes import dispute_rank
from shared.payments.outbox import OutboxMessage
from shared.payments.providers import GatewayRefund, ProcessedEvents, ProviderEvent
from shared.payments.records import GatewayIntent, PaymentStore
from shared.payments.refunds import (
    RefundStore,
    record_outside_refund,
    record_refund,
    settle_reported_refund,
)

log = get_logger("stripe_events")

# A refund made, or one that changed later (pending to succeeded, or failed: Stripe documents
# refunds failing even after reporting success). The charge names no refund in current API
# versions; the others carry the refund itself (``refund.created`` is sent for every refund,
# the Dashboard's included, since API version 2024-10-28.acacia).
REFUND_EVENTS = frozenset(
    {
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
    }
)

HANDLED = REFUND_EVENTS | frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "charge.succeeded",
        "charge.failed",
        "charge.dispute.created",
        "charge.dispute.closed",
        "checkout.session.completed",
        "checkout.session.expired",
    }
)

# Given a PaymentIntent (and the event id), the credits work applies it to the credit order whose
# own intent it is (the id stored on the order; metadata proves nothing) and answers whether
# there was one. A credit order's intent is not a seed-004 payment: no record, no notification.
CreditOrderIntent = Callable[[GatewayIntent, str], bool]
# Called with the PaymentIntent id of every refund event; the credits work looks it up among
# credit orders and takes back the credits of each refund of it, once (and gives back, once,
# those of a refund that failed).
CreditOrderRefunded = Callable[[str], None]
# Given a dispute's PaymentIntent id, the dispute and the event type, the credits work records
# it on the credit order whose intent it is and answers whether there was one (a credit order's
# dispute is no card payment's: no payment record, no payment.dispute notification).
CreditOrderDisputed = Callable[[str, Mapping[str, Any], str], bool]
# Stripe's list of a PaymentIntent's refunds, whoever made them (RefundGateway.refunds_of): read
# for a card payment of ours when a refund event names none (``charge.refunded`` in current API
# versions), so that a refund made in the Dashboard is recorded however it is reported.
CardRefunds = Callable[[str], Sequence[GatewayRefund]]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    event_id: str
    type: str
    duplicate: bool = False
    handled: bool = True


@dataclass
class StripeWebhooks:
    payments: RefundStore
    processed: ProcessedEvents
    credit_order_intent: CreditOrderIntent | None = None
    credit_order_refunded: CreditOrderRefunded | None = None
    credit_order_disputed: CreditOrderDisputed | None = None
    card_refunds: CardRefunds | None = None

    def apply(self, event: ProviderEvent) -> EventOutcome:
        """Apply one verified Stripe event at most once."""
        if self.processed.seen(event):
            return EventOutcome(event.id, event.type, duplicate=True)
        self._apply(event)
        handled = event.type in HANDLED
        self.processed.record(event, "handled" if handled else "ignored")
        return EventOutcome(event.id, event.type, handled=handled)

    def _apply(self, event: ProviderEvent) -> None:
        store = self.payments
        if event.type not in HANDLED:
            # e.g. payment_intent.created, which can arrive before a credit order stores its
            # intent's id: applied, it would record a credit purchase as a card payment.
            return
        if event.type.startswith("payment_intent.") and event.intent is not None:
            credit_order_intent = self.credit_order_intent
            if credit_order_intent is None or not credit_order_intent(event.intent, event.id):
                record_intent(store, event.intent)
        elif event.type in ("charge.succeeded", "charge.failed"):
            _on_charge(store, event)
        elif event.type in REFUND_EVENTS:
            _on_refunded(store, event, self.credit_order_refunded, self.card_refunds)
        elif event.type.startswith("charge.dispute.") and event.dispute and event.payment_intent_id:
            disputed = self.credit_order_disputed
            if disputed is None or not disputed(event.payment_intent_id, event.dispute, event.type):
                _on_dispute(store, event)
        elif event.type.startswith("checkout.session.") and event.checkout_session:
            store.record_checkout_session(event.checkout_session, event.type)


def _on_refunded(
    store: RefundStore,
    event: ProviderEvent,
    credit_order_refunded: CreditOrderRefunded | None,
    card_refunds: CardRefunds | None,
) -> None:
    for refund in _refunds_named(store, event, card_refunds):
        known = store.refund(refund.id)
        if known is not None:
            record_refund(store, refund, known)
        elif not settle_reported_refund(store, refund):  # ours, reported before our answer
            record_outside_refund(store, refund)  # made in the Dashboard: record it once
    if event.payment_intent_id and credit_order_refunded is not None:
        # Whether the payment is a credit order's is the credits work's to say (by its intent
        # id); it reads the payment's refunds from Stripe rather than trust one event's view.
        credit_order_refunded(event.payment_intent_id)


def _refunds_named(
    store: RefundStore, event: ProviderEvent, card_refunds: CardRefunds | None
) -> Sequence[GatewayRefund]:
    """The refunds the event carries; for a card payment of ours whose event carries none,
    every refund Stripe lists for it (a credit order's are the credits work's to read)."""
    intent_id = event.payment_intent_id
    if event.refunds or not intent_id or card_refunds is None or store.payment(intent_id) is None:
        return event.refunds
    return card_refunds(intent_id)


def _on_charge(store: PaymentStore, event: ProviderEvent) -> None:
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
    record_intent(store, intent)


def _on_dispute(store: PaymentStore, event: ProviderEvent) -> None:
    assert event.dispute is not None and event.payment_intent_id is not None
    suffix = event.type.removeprefix("charge.dispute.")
    dispute_id, status = str(event.dispute["id"]), event.dispute.get("status")
    payment = store.payment(event.payment_intent_id)
    known = payment.disputes.get(dispute_id) if payment is not None else None
    notify: OutboxMessage | None = OutboxMessage(
        type=f"payment.dispute_{suffix}",
        subject_id=f"{dispute_id}.{status}",
        data={"payment_intent_id": event.payment_intent_id, "dispute": dict(event.dispute)},
    )
    if known is not None and dispute_rank(known.get("status")) > dispute_rank(status):
        notify = None  # a late event: the event service already heard of a later state
    store.record_dispute(event.payment_intent_id, event.dispute, notify)
