"""Card payments and refunds (seed 004): the payment store and Stripe's PaymentIntents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.errors import ProviderError, ProviderRejected
from shared.payments.disputes import disputes_view
from shared.payments.outbox import OutboxMessage
from shared.payments.providers import (
    FINAL_REFUND_FAILURES,
    GatewayRefund,
    ProviderEvent,
    RefundStatus,
)
from shared.payments.records import (
    CardDeclined,
    GatewayIntent,
    Payment,
    PaymentRequest,
    PaymentStatus,
    current_status,
)
from shared.payments.refund_reservations import ReservationStatus
from shared.payments.refunds import Refund, RefundGateway, RefundReservation, RefundStore
from shared.payments.stripe_events import (
    CardRefunds,
    CreditOrderDisputed,
    CreditOrderIntent,
    CreditOrderRefunded,
    EventOutcome,
    StripeWebhooks,
)
from tests.unit.fakes.ledger import Clock
from tests.unit.fakes.stores import MemoryProcessedEvents


class MemoryPayments(RefundStore):
    """Payments, refunds, reservations, transitions and outbox in dicts, as Firestore keeps them.

    Statuses are kept as every state reached (forward only, the highest wins); a transition is
    created once, and a notification rides only with the transition that is new.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or Clock()
        self.payments: dict[str, dict[str, Any]] = {}
        self.payment_states: dict[str, dict[int, dict[str, Any]]] = {}
        self.refunds: dict[str, Refund] = {}
        self.refund_states: dict[str, dict[int, RefundStatus]] = {}
        self.reserved: dict[str, RefundReservation] = {}
        self.transitions: set[str] = set()
        self.outbox: dict[str, OutboxMessage] = {}
        self.processed = MemoryProcessedEvents()  # the one store both providers' events use
        self.sessions: dict[str, dict[str, Any]] = {}

    def _transition(self, key: str, notify: OutboxMessage | None) -> bool:
        if key in self.transitions:
            return False
        self.transitions.add(key)
        if notify is not None:
            self.outbox.setdefault(notify.id, notify)
        return True

    def create_payment(
        self, intent: GatewayIntent, request: PaymentRequest, owner_uid: str | None
    ) -> None:
        self.payments[intent.id] = {
            "intent": intent,
            "owner_uid": owner_uid,
            "description": request.description,
            "customer_email": request.customer_email,
            "amount_refunded": 0,
            "disputes": {},
            "created_at": self.clock(),
        }
        self.payment_states[intent.id] = {intent.status.rank: {"status": intent.status}}

    def record_status(
        self,
        payment_intent_id: str,
        status: PaymentStatus,
        details: Mapping[str, Any],
        notify: OutboxMessage | None,
        intent: GatewayIntent | None = None,
    ) -> bool:
        if not self._transition(f"{payment_intent_id}_{status.value}", notify):
            return False
        record = self.payments.setdefault(payment_intent_id, {"amount_refunded": 0})
        if intent is not None:
            record["intent"] = intent
        states = self.payment_states.setdefault(payment_intent_id, {})
        states[status.rank] = {"status": status, **details}
        return True

    def payment(self, payment_intent_id: str) -> Payment | None:
        record = self.payments.get(payment_intent_id)
        if record is None or "intent" not in record:
            return None
        intent: GatewayIntent = record["intent"]
        states = self.payment_states[payment_intent_id]
        status = current_status(states)
        return Payment(
            payment_intent_id=payment_intent_id,
            amount=intent.amount,
            currency=intent.currency,
            status=status,
            owner_uid=record.get("owner_uid"),
            client_secret=intent.client_secret,
            description=record.get("description"),
            metadata=dict(intent.metadata),
            customer_email=record.get("customer_email"),
            decline_code=states[status.rank].get("decline_code"),
            failure_message=states[status.rank].get("failure_message"),
            # Firestore's rule: completed refunds less those that failed for good.
            amount_refunded=record["amount_refunded"]
            - sum(record.get("refunds_failed", {}).values()),
            disputes=disputes_view(record.get("disputes") or {}),
            created_at=record.get("created_at"),
            updated_at=record.get("created_at"),
        )

    def reservations(self, payment_intent_id: str) -> list[RefundReservation]:
        return [r for r in self.reserved.values() if r.payment_intent_id == payment_intent_id]

    def reserve(self, reservation: RefundReservation) -> bool:
        if reservation.id in self.reserved:
            return False
        self.reserved[reservation.id] = reservation
        return True

    def complete_refund(
        self, reservation: RefundReservation | None, refund: Refund, notify: OutboxMessage | None
    ) -> bool:
        if refund.refund_id in self.refunds:
            return False  # the refund's create is the guard of this commit
        self.refunds[refund.refund_id] = refund
        self.refund_states[refund.refund_id] = {refund.status.rank: refund.status}
        if reservation is not None:  # None: a refund made outside our API (the Dashboard)
            self.reserved[reservation.id] = replace(
                reservation, status=ReservationStatus.SUCCEEDED, refund_id=refund.refund_id
            )
        record = self.payments[refund.payment_intent_id]
        record["amount_refunded"] += refund.amount
        if refund.status in FINAL_REFUND_FAILURES:
            record.setdefault("refunds_failed", {})[refund.refund_id] = refund.amount
        self._transition(f"{refund.refund_id}_{refund.status.value}", notify)
        return True

    def release(self, reservation: RefundReservation, reason: str) -> None:
        self.reserved[reservation.id] = replace(reservation, status=ReservationStatus.RELEASED)

    def refund(self, refund_id: str) -> Refund | None:
        known = self.refunds.get(refund_id)
        if known is None:
            return None
        states = self.refund_states[refund_id]
        return replace(known, status=states[max(states)])

    def update_refund(self, refund: GatewayRefund, notify: OutboxMessage | None) -> bool:
        if not self._transition(f"{refund.id}_{refund.status.value}", notify):
            return False
        self.refund_states.setdefault(refund.id, {})[refund.status.rank] = refund.status
        if refund.status in FINAL_REFUND_FAILURES:
            record = self.payments.setdefault(refund.payment_intent_id, {"amount_refunded": 0})
            record.setdefault("refunds_failed", {})[refund.id] = refund.amount
        return True

    def record_dispute(
        self, payment_intent_id: str, dispute: Mapping[str, Any], notify: OutboxMessage | None
    ) -> bool:
        dispute_id, status = str(dispute["id"]), str(dispute.get("status"))
        if not self._transition(f"{payment_intent_id}_{dispute_id}_{status}", notify):
            return False
        record = self.payments.setdefault(payment_intent_id, {"amount_refunded": 0})
        disputes = record.setdefault("disputes", {})
        disputes.setdefault(dispute_id, {"states": {}})["states"][status] = dict(dispute)
        return True

    def record_checkout_session(self, session: Mapping[str, Any], event_type: str) -> None:
        self.sessions[str(session["id"])] = {**session, "last_event": event_type}


DECLINED_CARD = "pm_card_chargeDeclined"
THREE_D_SECURE_CARD = "pm_card_threeDSecure2Required"


@dataclass
class Stripe(RefundGateway):
    """Stripe's PaymentIntents and refunds, deduplicated on idempotency keys as Stripe does.

    Cards by PaymentMethod id: ``DECLINED_CARD`` is declined at confirmation,
    ``THREE_D_SECURE_CARD`` asks for 3-D Secure, any other succeeds. ``refuse_refunds`` makes
    refunds fail with a 4xx; ``lose_refund_answers`` makes the refund, then loses the answer.
    """

    intents: dict[str, GatewayIntent] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, GatewayRefund] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> object id
    refuse_refunds: bool = False
    lose_refund_answers: bool = False

    def create_intent(self, request: PaymentRequest, idempotency_key: str) -> GatewayIntent:
        if idempotency_key in self.keys:
            return self.intents[self.keys[idempotency_key]]
        intent = GatewayIntent(
            f"pi_{len(self.intents) + 1}",
            request.amount,
            request.currency,
            PaymentStatus.REQUIRES_CONFIRMATION,
            f"pi_{len(self.intents) + 1}_secret",
            metadata=dict(request.metadata),
        )
        self.intents[intent.id] = intent
        self.methods[intent.id] = request.payment_method
        self.keys[idempotency_key] = intent.id
        return intent

    def create_credit_intent(
        self, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayIntent:
        raise NotImplementedError("credit checkouts use StripeCheckout")

    def confirm_intent(self, intent_id: str, idempotency_key: str) -> GatewayIntent:
        method = self.methods[intent_id]
        if method == DECLINED_CARD:
            raise CardDeclined("card_declined", "generic_decline", "Your card was declined.")
        status = (
            PaymentStatus.REQUIRES_ACTION
            if method == THREE_D_SECURE_CARD
            else PaymentStatus.SUCCEEDED
        )
        return self.move(intent_id, status)

    def move(self, intent_id: str, status: PaymentStatus) -> GatewayIntent:
        """The intent reaches ``status`` at Stripe (a confirmation, 3-D Secure completed...)."""
        intent = self.intents[intent_id]
        received = intent.amount if status is PaymentStatus.SUCCEEDED else 0
        self.intents[intent_id] = replace(intent, status=status, amount_received=received)
        return self.intents[intent_id]

    def retrieve_intent(self, intent_id: str) -> GatewayIntent:
        return self.intents[intent_id]

    def create_refund(
        self, intent_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayRefund:
        if self.refuse_refunds:
            raise ProviderRejected("Stripe refused the refund")
        if idempotency_key not in self.keys:
            refund = GatewayRefund(
                f"re_{len(self.refunds) + 1}",
                intent_id,
                amount,
                self.intents[intent_id].currency,
                RefundStatus.SUCCEEDED,
                metadata=dict(metadata),
            )
            self.refunds[refund.id] = refund
            self.keys[idempotency_key] = refund.id
        if self.lose_refund_answers:
            raise ProviderError("Stripe did not answer")
        return self.refunds[self.keys[idempotency_key]]

    def retrieve_refund(self, refund_id: str) -> GatewayRefund:
        if refund_id not in self.refunds:
            raise ProviderRejected("No such refund")
        return self.refunds[refund_id]

    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        return [r for r in self.refunds.values() if r.payment_intent_id == intent_id]

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        raise NotImplementedError("tests hand events to the domain with stripe_event()")


def stripe_event(event_id: str, event_type: str, **fields: Any) -> ProviderEvent:
    """A verified Stripe event, as the gateway hands it to the domain."""
    return ProviderEvent("stripe", event_id, event_type, created=1, **fields)


def gateway_refund(
    refund_id: str, intent_id: str, amount: int, status: RefundStatus, currency: str = "usd"
) -> GatewayRefund:
    """A refund as Stripe reports it (its answer, its list, a ``charge.refunded`` event)."""
    return GatewayRefund(refund_id, intent_id, amount, currency, status)


def deliver_stripe(
    store: MemoryPayments,
    event: ProviderEvent,
    credit_order_intent: CreditOrderIntent | None = None,
    credit_order_refunded: CreditOrderRefunded | None = None,
    credit_order_disputed: CreditOrderDisputed | None = None,
    *,
    card_refunds: CardRefunds | None = None,
) -> EventOutcome:
    """Apply one verified Stripe event, as the webhook handler does."""
    webhooks = StripeWebhooks(
        store,
        store.processed,
        credit_order_intent,
        credit_order_refunded,
        credit_order_disputed,
        card_refunds,
    )
    return webhooks.apply(event)
