"""The reconciliation queue on Firestore: the ``reconcile_from`` field of orders and payments.

An order or payment is written with ``reconcile_from`` = its creation time; it is due once that
is older than the reconcile age. A look that settles nothing moves the field forward; a settled
item's field becomes null, so it never matches again. Orders are filtered on status too (index
``credit_orders(status, reconcile_from)``); payments keep their status in a map, so a payment is
looked at once after the age and leaves the queue when final.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, field_filter
from shared.adapters.firestore_orders import ORDERS
from shared.adapters.firestore_payments import PAYMENTS
from shared.purchases.orders import OrderStatus
from shared.purchases.reconciliation import ORDER, Due, ReconcileQueue

FIELD = "reconcile_from"
CHECKS = "reconcile_checks"
OPEN_ORDER_STATUSES = [OrderStatus.CREATED.value, OrderStatus.FAILED.value]


class FirestoreReconcileQueue(FirestoreStore, ReconcileQueue):
    def due(self, kind: str, before: datetime, limit: int) -> list[Due]:
        query: Any = self._db.collection(_collection(kind))
        if kind == ORDER:
            query = query.where(filter=field_filter("status", "in", OPEN_ORDER_STATUSES))
        query = query.where(filter=field_filter(FIELD, "<=", before)).order_by(FIELD).limit(limit)
        return [_due(kind, doc.id, doc.to_dict() or {}) for doc in query.stream(**self._rpc)]

    def postpone(self, item: Due, until: datetime) -> None:
        fields = {FIELD: until, CHECKS: item.checks + 1}
        self._ref(item).set(fields, merge=True, **self._rpc)

    def settle(self, item: Due, outcome: str) -> None:
        fields = {
            FIELD: None,  # a range filter on timestamps never matches null (nor does the emulator)
            CHECKS: item.checks + 1,
            "reconciled": {"outcome": outcome, "at": self._clock()},
        }
        self._ref(item).set(fields, merge=True, **self._rpc)

    def _ref(self, item: Due) -> Any:
        return self._db.collection(_collection(item.kind)).document(item.id)


def _collection(kind: str) -> str:
    return ORDERS if kind == ORDER else PAYMENTS


def _due(kind: str, document_id: str, data: dict[str, Any]) -> Due:
    return Due(kind, document_id, data.get("created_at") or data[FIELD], int(data.get(CHECKS, 0)))
