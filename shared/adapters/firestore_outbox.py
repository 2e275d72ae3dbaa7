"""The outbox on Firestore: ``outbox/{event_id}``, one document per notification.

Created in the commit of the state change it tells of (``firestore_payments``), then updated by
its delivery (``event_service.OutboxDelivery``): attempts, last error, delivered or parked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.payments.outbox import OutboxMessage, OutboxStatus

OUTBOX = "outbox"


def outbox_document(message: OutboxMessage, now: datetime) -> dict[str, Any]:
    """An outbox document as ``event_service.OutboxDelivery`` reads and updates it."""
    return {
        "event_id": message.id,
        "type": message.type,
        "data": dict(message.data),
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "created_at": now,
    }
