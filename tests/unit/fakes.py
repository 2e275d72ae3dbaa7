"""In-memory implementations of the domain's ports, for service-layer tests in milliseconds.

Each fake keeps the port's promises that the use cases rely on (an effect applied at most once,
a claim refusing another use, side writes landing with their entries, create-only creates) and
nothing more: no I/O, no clock, no threads. Names that other work may move (provider types)
are imported here only, so a move is fixed in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from shared.accounts import AccountSnapshot, AccountStore
from shared.auth import Caller, TokenVerifier
from shared.balances import BalanceProjection, ProjectionStore
from shared.checkout import (
    CheckoutGateway,
    ProviderOrder,
    ProviderPayment,
    ProviderRefund,
    RefundListingGateway,
)
from shared.devices import Device, DeviceStore
from shared.disputes import disputes_view
from shared.errors import (
    Conflict,
    IdempotencyKeyReused,
    ProviderError,
    ProviderRejected,
    Unauthenticated,
)
from shared.holds import HOLDS, Hold, HoldStatus, HoldStore
from shared.idempotency import ABANDONED_AFTER, IdempotencyStore, StoredResponse
from shared.ledger import (
    AccountHead,
    AppendResult,
    DocumentWrite,
    EffectOutcome,
    EffectRequest,
    EntryType,
    HistoryPage,
    IdClaim,
    LedgerEntry,
    LedgerStore,
    Posting,
    claims_to_make,
    plan_effects,
)
from shared.orders import ORDERS, CreditOrder, OrderPage, OrderStatus, OrderStore
from shared.outbox import OutboxMessage
from shared.packages import CreditPackage, PackageCatalog
from shared.payments import (
    CardDeclined,
    GatewayEvent,
    GatewayIntent,
    GatewayRefund,
    Payment,
    PaymentGateway,
    PaymentRequest,
    PaymentStatus,
    PaymentStore,
    Refund,
    RefundReservation,
    RefundStatus,
    ReservationStatus,
    current_status,
)
from shared.rate_limits import SlotCounter
from shared.razorpay_events import ProcessedEvents, RazorpayWebhooks, WebhookOutcome
from shared.reconciliation import Due, ReconcileQueue

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

__all__ = [
    "NOW",
    "Clock",
    "MemoryAccounts",
    "MemoryDevices",
    "MemoryHolds",
    "MemoryIdempotency",
    "MemoryLedger",
    "MemoryOrders",
    "MemoryPackages",
    "MemoryPayments",
    "MemoryProcessedEvents",
    "MemoryProjections",
    "MemoryQueue",
    "MemorySlots",
    "Razorpay",
    "RefundStatus",
    "Stripe",
    "StripeCheckout",
    "TokensAreUids",
    "credit_intent",
    "deliver_razorpay",
    "gateway_refund",
    "razorpay_payment",
    "stripe_event",
]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def deep_merge(into: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``fields`` into a copy of ``into`` the way a Firestore ``set(merge=True)`` does."""
    merged = dict(into)
    for key, value in fields.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- ledger ---------------------------------------------------------------------------------


class MemoryLedger(LedgerStore):
    """The ledger's rules on a list: effects at most once, claims first, side writes with entries.

    Side writes go to the fake store that owns their collection (``sinks``); a write to a
    collection nobody owns is kept in ``documents`` so that a test can still see it.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.entries: list[LedgerEntry] = []
        self.effects: dict[str, list[LedgerEntry]] = {}
        self.claims: dict[str, IdClaim] = {}
        self.sinks: dict[str, Callable[[DocumentWrite], None]] = {}
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.clock = clock or Clock()

    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[DocumentWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        [outcome] = self._apply(user_id, [EffectRequest(postings, effect_key, claim)], side_writes)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        return self._apply(user_id, requests, ())

    def _apply(
        self,
        user_id: str,
        requests: Sequence[EffectRequest],
        side_writes: Sequence[DocumentWrite],
    ) -> list[EffectOutcome]:
        outcomes, fresh = plan_effects(
            self.head(user_id), requests, self.effects, self.clock(), self.claims
        )
        if not fresh:
            return outcomes
        for made in claims_to_make(requests, outcomes, self.claims):
            self.claims[made.key] = made
        for result in fresh:
            self.entries += result.entries
            key = result.entries[0].effect_key
            if key:
                self.effects[key] = result.entries
        for write in side_writes:
            self.write(write)
        return outcomes

    def write(self, write: DocumentWrite) -> None:
        sink = self.sinks.get(write.collection)
        if sink is not None:
            sink(write)
            return
        where = (write.collection, write.document_id)
        before = self.documents.get(where, {}) if write.merge else {}
        self.documents[where] = deep_merge(before, write.data)

    def head(self, user_id: str) -> AccountHead:
        mine = self.of(user_id)
        return mine[-1].head if mine else AccountHead(user_id)

    def of(self, user_id: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.user_id == user_id]

    def history(
        self,
        user_id: str,
        limit: int,
        cursor: str | None = None,
        entry_type: EntryType | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> HistoryPage:
        below = int(cursor) if cursor else None
        found = [
            e
            for e in reversed(self.of(user_id))
            if (entry_type is None or e.type is entry_type)
            and (below is None or e.seq < below)
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
        ]
        page = found[:limit]
        return HistoryPage(page, str(page[-1].seq) if len(found) > limit else None)


# --- stores ---------------------------------------------------------------------------------


class MemoryOrders(OrderStore):
    """Credit orders by id; receives the ledger's side writes to ``credit_orders``."""

    def __init__(self, *orders: CreditOrder, ledger: MemoryLedger | None = None) -> None:
        self.orders = {o.id: o for o in orders}
        if ledger is not None:
            self.receive_side_writes(ledger)

    def receive_side_writes(self, ledger: MemoryLedger) -> None:
        ledger.sinks[ORDERS] = lambda write: self.merge(write.document_id, write.data)

    def create(self, order: CreditOrder) -> bool:
        if order.id in self.orders:
            return False
        self.orders[order.id] = order
        return True

    def get(self, order_id: str) -> CreditOrder | None:
        return self.orders.get(order_id)

    def by_provider_order(self, provider: str, provider_order_id: str) -> CreditOrder | None:
        return next(
            (
                o
                for o in self.orders.values()
                if (o.provider, o.provider_order_id) == (provider, provider_order_id)
            ),
            None,
        )

    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> OrderPage:
        mine = sorted(
            (o for o in self.orders.values() if o.user_id == user_id),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        if cursor is not None:
            ids = [o.id for o in mine]
            mine = mine[ids.index(cursor) + 1 :] if cursor in ids else []
        page = mine[:limit]
        return OrderPage(page, page[-1].id if len(mine) > limit else None)

    def merge(self, order_id: str, fields: Mapping[str, Any]) -> None:
        order = self.orders[order_id]
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "status":
                changes["status"] = OrderStatus(value)
            elif name in ("flags", "refunds", "disputes"):
                changes[name] = deep_merge(getattr(order, name), value)
            elif name in ("provider_payment_id", "paid_at", "failure"):
                changes[name] = value
        self.orders[order_id] = replace(order, **changes)


class MemoryHolds(HoldStore):
    """Holds by id; receives the ledger's side writes to ``holds`` (storage shape in, Hold out)."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        ledger.sinks[HOLDS] = self._written

    def _written(self, write: DocumentWrite) -> None:
        before = self.documents.get(write.document_id, {}) if write.merge else {}
        self.documents[write.document_id] = deep_merge(before, write.data)

    def get(self, hold_id: str) -> Hold | None:
        data = self.documents.get(hold_id)
        return _hold(data) if data else None

    def due(self, now: datetime, limit: int) -> list[Hold]:
        held = [_hold(d) for d in self.documents.values()]
        due = [h for h in held if h.status is HoldStatus.HELD and h.expires_at <= now]
        return sorted(due, key=lambda h: h.expires_at)[:limit]


def _hold(data: Mapping[str, Any]) -> Hold:
    return Hold(
        hold_id=data["hold_id"],
        user_id=data["user_id"],
        service=data["service"],
        amount=int(data["amount"]),
        status=HoldStatus(data["status"]),
        expires_at=data["expires_at"],
        created_at=data["created_at"],
        captured=int(data.get("captured") or 0),
        settled_at=data.get("settled_at"),
    )


class MemoryAccounts(AccountStore):
    """Account settings, with the head read from the ledger (the pointer every commit writes)."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.stored: dict[str, dict[str, object]] = {}

    def settings(self, user_id: str) -> Mapping[str, object]:
        return dict(self.stored.get(user_id, {}))

    def merge_settings(self, user_id: str, settings: Mapping[str, object]) -> None:
        self.stored[user_id] = {**self.stored.get(user_id, {}), **settings}

    def snapshot(self, user_id: str) -> AccountSnapshot:
        mine = self.ledger.of(user_id)
        updated = mine[-1].created_at if mine else None
        return AccountSnapshot(self.ledger.head(user_id), updated, self.settings(user_id))

    def totals(self, user_id: str, up_to_seq: int) -> Mapping[EntryType, int]:
        sums: dict[EntryType, int] = {}
        for entry in self.ledger.of(user_id):
            if entry.seq <= up_to_seq:
                sums[entry.type] = sums.get(entry.type, 0) + entry.amount
        return sums


class MemoryDevices(DeviceStore):
    """Each user's devices by token, newest last, keeping the ``keep`` newest."""

    def __init__(self) -> None:
        self.devices: dict[str, list[Device]] = {}

    def register(self, device: Device, keep: int) -> None:
        others = [d for d in self.devices.get(device.user_id, []) if d.token != device.token]
        self.devices[device.user_id] = [*others, device][-keep:]


class MemoryPackages(PackageCatalog):
    def __init__(self, *packages: CreditPackage) -> None:
        self.packages = list(packages)

    def stored(self) -> list[CreditPackage]:
        return list(self.packages)


class MemorySlots(SlotCounter):
    """Rate-limit slots: a bucket holds at most ``limit`` takes."""

    def __init__(self) -> None:
        self.taken: dict[str, int] = {}

    def take(self, bucket: str, limit: int, expires_at: datetime) -> bool:
        if self.taken.get(bucket, 0) >= limit:
            return False
        self.taken[bucket] = self.taken.get(bucket, 0) + 1
        return True


class MemoryQueue(ReconcileQueue):
    """Reconciliation's queue: items in the order given, settled or postponed by id."""

    def __init__(self, *items: Due) -> None:
        self.open = list(items)
        self.settled: dict[str, str] = {}
        self.postponed: dict[str, datetime] = {}

    def due(self, kind: str, before: datetime, limit: int) -> list[Due]:
        return [i for i in self.open if i.kind == kind and i.id not in self.settled][:limit]

    def postpone(self, item: Due, until: datetime) -> None:
        self.postponed[item.id] = until

    def settle(self, item: Due, outcome: str) -> None:
        self.settled[item.id] = outcome


class MemoryProcessedEvents(ProcessedEvents):
    def __init__(self) -> None:
        self.recorded: dict[tuple[str, str], tuple[str, str]] = {}

    def seen(self, provider: str, event_id: str) -> bool:
        return (provider, event_id) in self.recorded

    def record(self, provider: str, event_id: str, event: str, outcome: str) -> None:
        self.recorded[(provider, event_id)] = (event, outcome)


# --- providers ------------------------------------------------------------------------------


@dataclass
class Razorpay(CheckoutGateway, RefundListingGateway):
    """Razorpay as the domain sees it: orders, payments, signatures that are right or wrong."""

    name: str = "razorpay"
    key_id: str = "rzp_test_fake"
    payments: list[ProviderPayment] = field(default_factory=list)
    refunds: dict[str, list[ProviderRefund]] = field(default_factory=dict)
    orders: dict[str, ProviderOrder] = field(default_factory=dict)
    captured: list[str] = field(default_factory=list)
    down: bool = False
    knows: set[str] | None = None  # provider order ids it has; None: every one
    good_signature: str = "good"
    asked: list[str] = field(default_factory=list)

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        self._answer()
        # Like Razorpay's unique receipt: the same order id finds the same provider order.
        made = self.orders.get(order_id) or ProviderOrder(
            f"order_{len(self.orders) + 1}", amount, currency, order_id
        )
        self.orders[order_id] = made
        return made

    def pay(self, provider_order_id: str, amount: int, status: str = "captured") -> str:
        """A customer pays the order in Checkout; return the payment id."""
        payment = ProviderPayment(
            f"pay_{len(self.payments) + 1}", provider_order_id, amount, "inr", status
        )
        self.payments.append(payment)
        return payment.id

    def fetch_payment(self, payment_id: str) -> ProviderPayment:
        self._answer()
        found = [p for p in self.payments if p.id == payment_id]
        if not found:
            raise ProviderRejected("Razorpay refused the request: the id does not exist")
        return found[-1]

    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        self.asked.append(provider_order_id)
        self._answer()
        if self.knows is not None and provider_order_id not in self.knows:
            raise ProviderRejected("Razorpay refused the request: the id does not exist")
        return [p for p in self.payments if p.order_id == provider_order_id]

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment:
        self._answer()
        payment = replace(self.fetch_payment(payment_id), status="captured")
        self.payments = [payment if p.id == payment_id else p for p in self.payments]
        self.captured.append(payment_id)
        return payment

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        self._answer()
        return list(self.refunds.get(provider_order_id, []))

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        return signature == self.good_signature

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        return signature == self.good_signature

    def _answer(self) -> None:
        if self.down:
            raise ProviderError("Razorpay did not answer")


@dataclass
class StripeCheckout(RefundListingGateway):
    """Stripe as the credit checkout sees it: one PaymentIntent per order id."""

    name: str = "stripe"
    key_id: str = "pk_test_fake"
    intents: dict[str, ProviderOrder] = field(default_factory=dict)
    refunds: dict[str, list[ProviderRefund]] = field(default_factory=dict)  # by intent id

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        made = self.intents.get(order_id) or ProviderOrder(
            f"pi_{len(self.intents) + 1}", amount, currency, order_id, client_secret="pi_secret"
        )
        self.intents[order_id] = made
        return made

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        return list(self.refunds.get(provider_order_id, []))


# --- provider events --------------------------------------------------------------------------
# How a provider's event reaches the domain is being reshaped (one neutral event type): the tests
# build and deliver events only through these helpers, so that reshaping is followed here alone.


def razorpay_payment(
    payment_id: str, order_id: str, amount: int, status: str = "captured", **extra: object
) -> dict[str, object]:
    """A Razorpay payment entity, as its webhooks carry it."""
    return {
        "id": payment_id,
        "order_id": order_id,
        "amount": amount,
        "currency": "INR",
        "status": status,
        **extra,
    }


def deliver_razorpay(
    webhooks: RazorpayWebhooks,
    event: str,
    event_id: str,
    signature: str = "good",
    **entities: Mapping[str, object],
) -> WebhookOutcome:
    """Deliver one signed Razorpay webhook (``payment=``, ``refund=``, ``dispute=`` entities)."""
    payload = {kind: {"entity": dict(entity)} for kind, entity in entities.items()}
    body = json.dumps({"event": event, "payload": payload}).encode()
    return webhooks.handle(body, signature, event_id)


def credit_intent(
    intent_id: str, amount: int, currency: str, succeeded: bool = True
) -> GatewayIntent:
    """A Stripe PaymentIntent event's intent, as the gateway hands it to the domain."""
    status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.PROCESSING
    return GatewayIntent(
        intent_id, amount, currency, status, None, amount_received=amount if succeeded else 0
    )


# --- card payments and refunds (seed 004) ----------------------------------------------------


class MemoryPayments(PaymentStore):
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
        self.events: dict[str, str] = {}
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
            amount_refunded=record["amount_refunded"],
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
        self, reservation: RefundReservation, refund: Refund, notify: OutboxMessage | None
    ) -> None:
        if refund.refund_id in self.refunds:
            return  # the refund's create is the guard of this commit
        self.refunds[refund.refund_id] = refund
        self.refund_states[refund.refund_id] = {refund.status.rank: refund.status}
        self.reserved[reservation.id] = replace(
            reservation, status=ReservationStatus.SUCCEEDED, refund_id=refund.refund_id
        )
        self.payments[refund.payment_intent_id]["amount_refunded"] += refund.amount
        self._transition(f"{refund.refund_id}_{refund.status.value}", notify)

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

    def event_seen(self, event_id: str) -> bool:
        return event_id in self.events

    def mark_event(self, event: GatewayEvent) -> None:
        self.events[event.id] = event.type


DECLINED_CARD = "pm_card_chargeDeclined"
THREE_D_SECURE_CARD = "pm_card_threeDSecure2Required"


@dataclass
class Stripe(PaymentGateway):
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

    def verify_event(self, payload: bytes, signature_header: str | None) -> GatewayEvent:
        raise NotImplementedError("tests hand events to the domain with stripe_event()")


def stripe_event(event_id: str, event_type: str, **fields: Any) -> GatewayEvent:
    """A verified Stripe event, as the gateway hands it to the domain."""
    return GatewayEvent(event_id, event_type, created=1, **fields)


def gateway_refund(
    refund_id: str, intent_id: str, amount: int, status: RefundStatus, currency: str = "usd"
) -> GatewayRefund:
    """A refund as Stripe reports it (its answer, its list, a ``charge.refunded`` event)."""
    return GatewayRefund(refund_id, intent_id, amount, currency, status)


# --- projection, idempotency, identity --------------------------------------------------------


class MemoryProjections(ProjectionStore):
    """``user_credits`` projections over a fake ledger; writes only move forward."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.stored: dict[str, BalanceProjection] = {}
        self.writes = 0

    def head_entry(self, user_id: str) -> LedgerEntry | None:
        mine = self.ledger.of(user_id)
        return mine[-1] if mine else None

    def sums_by_type(self, user_id: str, up_to_seq: int) -> dict[EntryType, int]:
        sums: dict[EntryType, int] = {}
        for entry in self.ledger.of(user_id):
            if entry.seq <= up_to_seq:
                sums[entry.type] = sums.get(entry.type, 0) + entry.amount
        return sums

    def projected_seq(self, user_id: str) -> int:
        stored = self.stored.get(user_id)
        return stored.seq if stored else 0

    def write_if_newer(self, projection: BalanceProjection) -> bool:
        if self.projected_seq(projection.user_id) >= projection.seq:
            return False
        self.stored[projection.user_id] = projection
        self.writes += 1
        return True


@dataclass(frozen=True)
class _StoredText:
    status: int
    body: str


class MemoryIdempotency(IdempotencyStore):
    """Idempotency records: a key is claimed once, answers are stored as the first reply."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or Clock()
        # The answer is kept as JSON text, as the Firestore adapter keeps it.
        self.records: dict[str, tuple[str, datetime, _StoredText | None]] = {}

    def begin(self, key: str, fingerprint: str) -> StoredResponse | None:
        now = self.clock()
        if key not in self.records:
            self.records[key] = (fingerprint, now, None)
            return None
        first, started, stored = self.records[key]
        if first != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request",
                {"fields": {"Idempotency-Key": "already used with other parameters"}},
            )
        if stored is not None:
            return StoredResponse(stored.status, json.loads(stored.body))
        if now - started > ABANDONED_AFTER:
            self.records[key] = (fingerprint, now, None)
            return None
        raise Conflict("a request with this Idempotency-Key is still running; retry later")

    def finish(self, key: str, response: StoredResponse) -> None:
        fingerprint, started, _ = self.records[key]
        text = json.dumps(response.body, default=str)
        self.records[key] = (fingerprint, started, _StoredText(response.status, text))

    def abandon(self, key: str) -> None:
        self.records.pop(key, None)


class TokensAreUids(TokenVerifier):
    """Bearer ``uid-<name>`` is user ``uid-<name>``; ``admin-<name>`` also has the admin claim."""

    def verify(self, token: str) -> Caller:
        if token.startswith("admin-"):
            return Caller(uid=token, claims={"admin": True})
        if not token.startswith("uid-"):
            raise Unauthenticated("bad token")
        return Caller(uid=token)
