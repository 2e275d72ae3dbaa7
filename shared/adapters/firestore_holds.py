"""Holds on Firestore: ``holds/{hold_id}``, written as side writes of ledger commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, field_filter
from shared.usage.holds import Hold, HoldStatus, HoldStore

HOLDS = "holds"


def hold_to_document(hold: Hold) -> dict[str, Any]:
    return {
        "hold_id": hold.hold_id,
        "user_id": hold.user_id,
        "service": hold.service,
        "amount": hold.amount,
        "status": hold.status.value,
        "captured": hold.captured,
        "expires_at": hold.expires_at,
        "created_at": hold.created_at,
        "settled_at": hold.settled_at,
    }


def hold_from_document(data: dict[str, Any]) -> Hold:
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


class FirestoreHoldStore(FirestoreStore, HoldStore):
    def get(self, hold_id: str) -> Hold | None:
        snapshot = self._db.collection(HOLDS).document(hold_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        return hold_from_document(data) if data else None

    def due(self, now: datetime, limit: int) -> list[Hold]:
        query = (
            self._db.collection(HOLDS)
            .where(filter=field_filter("status", "==", HoldStatus.HELD.value))
            .where(filter=field_filter("expires_at", "<=", now))
            .order_by("expires_at")
            .limit(limit)
        )
        return [hold_from_document(d.to_dict() or {}) for d in query.stream(**self._rpc)]
