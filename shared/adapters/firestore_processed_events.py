"""Processed webhook events of every provider: ``webhook_events/{provider}:{event_id}``."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from shared.adapters.firestore_client import FirestoreStore
from shared.payments.providers import ProcessedEvents, ProviderEvent

if TYPE_CHECKING:
    from google.cloud import firestore

WEBHOOK_EVENTS = "webhook_events"
SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")
# A TTL policy (firestore.indexes.json) deletes records past this: providers stop redelivering
# within days (Razorpay 24 h, Stripe 3 days), and every effect has its own guard anyway.
PROCESSED_EVENT_RETENTION = timedelta(days=30)


def processed_event_id(provider: str, event_id: str) -> str:
    """The record's document id; ids that are not short and safe are hashed into a valid one."""
    safe = SAFE_ID.fullmatch(event_id)
    return f"{provider}:{event_id if safe else hashlib.sha256(event_id.encode()).hexdigest()}"


class FirestoreProcessedEvents(FirestoreStore, ProcessedEvents):
    def _ref(self, event: ProviderEvent) -> firestore.DocumentReference:
        return self._db.collection(WEBHOOK_EVENTS).document(
            processed_event_id(event.provider, event.id)
        )

    def seen(self, event: ProviderEvent) -> bool:
        return bool(self._ref(event).get(**self._rpc).exists)

    def record(self, event: ProviderEvent, outcome: str) -> None:
        now = self._clock()
        self._ref(event).set(
            {
                "provider": event.provider,
                "event_id": event.id,
                "event": event.type,
                "created": event.created,
                "outcome": outcome,
                "processed_at": now,
                "expires_at": now + PROCESSED_EVENT_RETENTION,
            },
            **self._rpc,
        )
