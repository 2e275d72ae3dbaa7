"""Credit orders on Firestore (``credit_orders/{order_id}``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, assert_never

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.errors import invalid_field
from shared.payments.disputes import disputes_view
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
    order_terms,
    refund_record,
)

ORDERS = "credit_orders"


def order_to_document(order: CreditOrder) -> dict[str, Any]:
    return {
        "user_id": order.user_id,
        **order_terms(order),
        "provider_payment_id": order.provider_payment_id,
        "status": order.status.value,
        "created_at": order.created_at,
        "updated_at": order.created_at,
        "reconcile_from": order.created_at,  # the reconciliation queue (firestore_reconciliation)
        "bonus_expiry_days": order.bonus_expiry_days,
    }


def order_fields(change: OrderChange) -> dict[str, Any]:
    """The fields ``change`` merges into its order's document (maps merge key by key)."""
    fields: dict[str, Any]
    match change:
        case OrderPaid():
            fields = {
                "status": OrderStatus.PAID.value,
                "provider_payment_id": change.provider_payment_id,
                "paid_at": change.paid_at,
                "updated_at": change.paid_at,
            }
        case OrderFailed():
            fields = {"status": OrderStatus.FAILED.value, "failure": dict(change.failure)}
        case OrderStatusChanged():
            fields = {"status": change.status.value}
        case OrderFlagged():
            fields = {"flags": {change.flag: dict(change.details)}}
        case RefundRecorded():
            record = {"amount": change.amount, "credits": change.credits, "at": change.at}
            fields = {"refunds": refund_record(change.refund_id, change.episode, record)}
        case RefundRestored():
            restored = {"credits": change.credits, "status": change.status, "at": change.at}
            restore = {"restored": restored}
            fields = {"refunds": refund_record(change.refund_id, change.episode, restore)}
        case RefundOverdraft():
            overdraft = {"overdraft": change.overdraft}
            fields = {"refunds": refund_record(change.refund_id, change.episode, overdraft)}
        case DisputeStateRecorded():
            # Every state under its own key: racing or late events merge (shared.payments.disputes).
            states = {change.status: dict(change.state)}
            fields = {"disputes": {change.dispute_id: {"states": states}}}
        case SecondPaymentRecorded():
            fields = {"second_payments": {change.payment_id: second_payment_fields(change)}}
        case ChargebackRecorded():
            record = {"amount": change.amount, "credits": change.credits, "at": change.at}
            fields = {"chargebacks": {change.dispute_id: record}}
        case ChargebackOverdraft():
            fields = {"chargebacks": {change.dispute_id: {"overdraft": change.overdraft}}}
        case _:
            assert_never(change)
    return fields


def second_payment_fields(change: SecondPaymentRecorded) -> dict[str, Any]:
    """The second payment's record: what is set merges into what earlier changes set."""
    record: dict[str, Any] = {"status": change.status, "updated_at": change.at}
    if change.amount is not None:
        record |= {"amount": change.amount, "currency": change.currency, "at": change.at}
    if change.refund is not None:
        refund = change.refund
        status = str(refund.status) if refund.status else None
        record["refunds"] = {refund.id: {"amount": refund.amount, "status": status}}
    if change.dispute_id is not None:
        record["dispute_id"] = change.dispute_id
    return record


def order_from_document(order_id: str, data: Mapping[str, Any]) -> CreditOrder:
    return CreditOrder(
        id=order_id,
        user_id=data["user_id"],
        provider=data["provider"],
        provider_order_id=data["provider_order_id"],
        amount=int(data["amount"]),
        tax=int(data["tax"]),
        total=int(data["total"]),
        currency=data["currency"],
        credits=int(data["credits"]),
        bonus_credits=int(data["bonus_credits"]),
        created_at=data["created_at"],
        status=OrderStatus(data.get("status", "created")),
        package_id=data.get("package_id"),
        provider_payment_id=data.get("provider_payment_id"),
        paid_at=data.get("paid_at"),
        failure=data.get("failure"),
        flags=dict(data.get("flags") or {}),
        refunds=dict(data.get("refunds") or {}),
        disputes=disputes_view(data.get("disputes") or {}),
        second_payments=dict(data.get("second_payments") or {}),
        chargebacks=dict(data.get("chargebacks") or {}),
        bonus_expiry_days=data.get("bonus_expiry_days"),
    )


class FirestoreOrders(FirestoreStore, OrderStore):
    def create(self, order: CreditOrder) -> bool:
        try:
            self._db.collection(ORDERS).document(order.id).create(
                order_to_document(order), **self._rpc
            )
        except race_lost():
            return False
        return True

    def get(self, order_id: str) -> CreditOrder | None:
        snapshot = self._db.collection(ORDERS).document(order_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        return order_from_document(order_id, data) if data else None

    def by_provider_order(self, provider: str, provider_order_id: str) -> CreditOrder | None:
        query = (
            self._db.collection(ORDERS)
            .where(filter=field_filter("provider_order_id", "==", provider_order_id))
            .limit(5)
        )
        docs = list(query.stream(**self._rpc))
        for doc in docs:
            data = doc.to_dict() or {}
            if data.get("provider") == provider:
                return order_from_document(doc.id, data)
        return None

    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> OrderPage:
        query = self._db.collection(ORDERS).where(filter=field_filter("user_id", "==", user_id))
        if cursor is not None:
            query = query.where(filter=field_filter("created_at", "<", _cursor_time(cursor)))
        query = query.order_by("created_at", direction="DESCENDING").limit(limit + 1)
        docs = list(query.stream(**self._rpc))
        orders = [order_from_document(d.id, d.to_dict() or {}) for d in docs[:limit]]
        next_cursor = orders[-1].created_at.isoformat() if len(docs) > limit else None
        return OrderPage(orders, next_cursor)

    def update(self, change: OrderChange) -> None:
        self._db.collection(ORDERS).document(change.order_id).set(
            order_fields(change), merge=True, **self._rpc
        )


def _cursor_time(cursor: str) -> datetime:
    try:
        return datetime.fromisoformat(cursor)
    except ValueError as exc:
        raise invalid_field("cursor", "not a cursor this service issued") from exc
