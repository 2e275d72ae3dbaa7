"""In-memory stores: orders, holds, accounts, devices, packages, slots, queues, records."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import get_args

from shared.access.auth import Caller, TokenVerifier
from shared.access.idempotency import ABANDONED_AFTER, IdempotencyStore, StoredResponse
from shared.access.rate_limits import SlotCounter
from shared.accounts.credit_accounts import AccountSnapshot, AccountStore
from shared.accounts.devices import Device, DeviceStore
from shared.adapters.firestore_orders import second_payment_fields
from shared.errors import Conflict, IdempotencyKeyReused, Unauthenticated
from shared.ledger.entries import EntryType
from shared.payments.providers import ProcessedEvents, ProviderEvent
from shared.payments.refund_reservations import ReservationStatus
from shared.purchases.orders import (
    ChargebackOverdraft,
    ChargebackRecorded,
    CreditOrder,
    DisputeStateRecorded,
    OrderChange,
    OrderFailed,
    OrderFlagged,
    OrderPage,
    OrderPaid,
    OrderStatus,
    OrderStatusChanged,
    OrderStore,
    RefundOverdraft,
    RefundRecorded,
    RefundRestored,
    SecondPaymentRecorded,
    refund_record,
)
from shared.purchases.packages import CreditPackage, PackageCatalog
from shared.purchases.reconciliation import Due, ReconcileQueue
from shared.purchases.refunds import OrderRefundReservation, OrderRefundStore
from shared.usage.holds import (
    Hold,
    HoldPlaced,
    HoldSettled,
    HoldStatus,
    HoldStore,
    MeteredEvent,
)
from tests.unit.fakes.ledger import Clock, MemoryLedger, deep_merge


class MemoryOrders(OrderStore):
    """Credit orders by id; receives the ledger's side writes of order changes."""

    def __init__(self, *orders: CreditOrder, ledger: MemoryLedger | None = None) -> None:
        self.orders = {o.id: o for o in orders}
        if ledger is not None:
            self.receive_side_writes(ledger)

    def receive_side_writes(self, ledger: MemoryLedger) -> None:
        for kind in get_args(OrderChange):
            ledger.sinks[kind] = self.update

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

    def update(self, change: OrderChange) -> None:
        order = self.orders[change.order_id]
        match change:
            case OrderPaid():
                order = replace(
                    order,
                    status=OrderStatus.PAID,
                    provider_payment_id=change.provider_payment_id,
                    paid_at=change.paid_at,
                )
            case OrderFailed():
                order = replace(order, status=OrderStatus.FAILED, failure=dict(change.failure))
            case OrderStatusChanged():
                order = replace(order, status=change.status)
            case OrderFlagged():
                flags = deep_merge(order.flags, {change.flag: dict(change.details)})
                order = replace(order, flags=flags)
            case RefundRecorded():
                record = {"amount": change.amount, "credits": change.credits, "at": change.at}
                refunds = refund_record(change.refund_id, change.episode, record)
                order = replace(order, refunds=deep_merge(order.refunds, refunds))
            case RefundRestored():
                restored = {"credits": change.credits, "status": change.status, "at": change.at}
                refunds = refund_record(change.refund_id, change.episode, {"restored": restored})
                order = replace(order, refunds=deep_merge(order.refunds, refunds))
            case RefundOverdraft():
                overdraft = {"overdraft": change.overdraft}
                refunds = refund_record(change.refund_id, change.episode, overdraft)
                order = replace(order, refunds=deep_merge(order.refunds, refunds))
            case DisputeStateRecorded():
                # Kept as Firestore keeps it: every state a dispute reached, under its own key.
                state = {change.dispute_id: {"states": {change.status: dict(change.state)}}}
                order = replace(order, disputes=deep_merge(order.disputes, state))
            case SecondPaymentRecorded():
                second = {change.payment_id: second_payment_fields(change)}
                order = replace(order, second_payments=deep_merge(order.second_payments, second))
            case ChargebackRecorded():
                lost = {"amount": change.amount, "credits": change.credits, "at": change.at}
                chargebacks = deep_merge(order.chargebacks, {change.dispute_id: lost})
                order = replace(order, chargebacks=chargebacks)
            case ChargebackOverdraft():
                spent = {change.dispute_id: {"overdraft": change.overdraft}}
                order = replace(order, chargebacks=deep_merge(order.chargebacks, spent))
        self.orders[change.order_id] = order


class MemoryOrderRefunds(OrderRefundStore):
    """Reservations of refunds of credit orders by id; a reservation is created once."""

    def __init__(self) -> None:
        self.kept: dict[str, OrderRefundReservation] = {}
        self.released: dict[str, str] = {}

    def reservations(self, order_id: str) -> list[OrderRefundReservation]:
        return [r for r in self.kept.values() if r.order_id == order_id]

    def reserve(self, reservation: OrderRefundReservation) -> bool:
        if reservation.id in self.kept:
            return False
        self.kept[reservation.id] = reservation
        return True

    def settle(self, reservation: OrderRefundReservation, refund_id: str) -> None:
        self.kept[reservation.id] = replace(
            self.kept[reservation.id], status=ReservationStatus.SUCCEEDED, refund_id=refund_id
        )

    def release(self, reservation: OrderRefundReservation, reason: str) -> None:
        self.kept[reservation.id] = replace(
            self.kept[reservation.id], status=ReservationStatus.RELEASED
        )
        self.released[reservation.id] = reason


class MemoryHolds(HoldStore):
    """Holds by id; receives the ledger's side writes of placed and settled holds."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.holds: dict[str, Hold] = {}
        self.events: dict[tuple[str, str], str] = {}  # (service, event_id) -> who recorded it
        ledger.sinks[HoldPlaced] = ledger.sinks[HoldSettled] = self._written

    def _written(self, write: HoldPlaced | HoldSettled) -> None:
        self.holds[write.hold.hold_id] = write.hold

    def get(self, hold_id: str) -> Hold | None:
        return self.holds.get(hold_id)

    def record_events(
        self, hold: Hold, events: Sequence[MeteredEvent], actor: str
    ) -> list[MeteredEvent]:
        terms = f"budget:{hold.hold_id}"
        charged = []
        for event in events:
            recorded = self.events.setdefault((hold.service, event.event_id), terms)
            if recorded == terms:
                charged.append(event)
        return charged

    def due(self, now: datetime, limit: int) -> list[Hold]:
        held = self.holds.values()
        due = [h for h in held if h.status is HoldStatus.HELD and h.expires_at <= now]
        return sorted(due, key=lambda h: h.expires_at)[:limit]


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

    def seen(self, event: ProviderEvent) -> bool:
        return (event.provider, event.id) in self.recorded

    def record(self, event: ProviderEvent, outcome: str) -> None:
        self.recorded[(event.provider, event.id)] = (event.type, outcome)


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
        raise Conflict(
            "a request with this Idempotency-Key is still running; retry later", {"retryable": True}
        )

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
