"""Reservations of refunds of credit orders on Firestore (``credit_order_refunds/{order}_{n}``).

A reservation's document id is deterministic and it is created (must-not-exist), alone in its
commit, so of two concurrent refunds of one order only one gets number ``n`` (docs/ledger.md's
concurrency rule); the other re-reads and recounts. Each document is also the record of who
asked for the refund and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.payments.refund_reservations import ReservationStatus
from shared.purchases.refunds import OrderRefundReservation, OrderRefundStore

ORDER_REFUNDS = "credit_order_refunds"


class FirestoreOrderRefunds(FirestoreStore, OrderRefundStore):
    def reservations(self, order_id: str) -> list[OrderRefundReservation]:
        query = self._db.collection(ORDER_REFUNDS).where(
            filter=field_filter("order_id", "==", order_id)
        )
        return [_reservation(d.to_dict() or {}) for d in query.stream(**self._rpc)]

    def reserve(self, reservation: OrderRefundReservation) -> bool:
        document = {
            "order_id": reservation.order_id,
            "number": reservation.number,
            "amount": reservation.amount,
            "requested_amount": reservation.requested_amount,
            "reason": reservation.reason,
            "admin_uid": reservation.admin_uid,
            "request_key": reservation.request_key,
            "status": ReservationStatus.RESERVED.value,
            "created_at": self._clock(),
        }
        try:
            self._doc(reservation).create(document, **self._rpc)
        except race_lost():
            return False
        return True

    def settle(self, reservation: OrderRefundReservation, refund_id: str) -> None:
        fields = {
            "status": ReservationStatus.SUCCEEDED.value,
            "refund_id": refund_id,
            "settled_at": self._clock(),
        }
        self._doc(reservation).set(fields, merge=True, **self._rpc)

    def release(self, reservation: OrderRefundReservation, reason: str) -> None:
        fields = {
            "status": ReservationStatus.RELEASED.value,
            "released_because": reason,
            "released_at": self._clock(),
        }
        self._doc(reservation).set(fields, merge=True, **self._rpc)

    def _doc(self, reservation: OrderRefundReservation) -> Any:
        return self._db.collection(ORDER_REFUNDS).document(reservation.id)


def _reservation(data: Mapping[str, Any]) -> OrderRefundReservation:
    requested = data.get("requested_amount")
    return OrderRefundReservation(
        order_id=data["order_id"],
        number=int(data["number"]),
        amount=int(data["amount"]),
        requested_amount=None if requested is None else int(requested),
        reason=str(data.get("reason") or ""),
        admin_uid=str(data.get("admin_uid") or ""),
        request_key=data.get("request_key"),
        status=ReservationStatus(data.get("status", "reserved")),
        refund_id=data.get("refund_id"),
    )
