"""Processed webhook events on Firestore: ``webhook_events/{provider}:{event_id}``."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from shared.adapters.firestore_client import FirestoreStore
from shared.adapters.firestore_ledger import _unavailable_on_outage
from shared.razorpay_events import ProcessedEvents

if TYPE_CHECKING:
    from google.cloud import firestore

WEBHOOK_EVENTS = "webhook_events"
SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")
# A TTL policy (firestore.indexes.json) deletes records past this: providers stop redelivering
# within days (Razorpay 24 h, Stripe 3 days), and every effect has its own guard anyway.
PROCESSED_EVENT_RETENTION = timedelta(days=30)


class FirestoreProcessedEvents(FirestoreStore, ProcessedEvents):
    def _ref(self, provider: str, event_id: str) -> firestore.DocumentReference:
        # Provider ids are short and safe; anything else is hashed into a valid document id.
        key = (
            event_id
            if SAFE_ID.fullmatch(event_id)
            else hashlib.sha256(event_id.encode()).hexdigest()
        )
        return self._db.collection(WEBHOOK_EVENTS).document(f"{provider}:{key}")

    def seen(self, provider: str, event_id: str) -> bool:
        with _unavailable_on_outage():
            return bool(self._ref(provider, event_id).get(**self._rpc).exists)

    def record(self, provider: str, event_id: str, event: str, outcome: str) -> None:
        now = self._clock()
        with _unavailable_on_outage():
            self._ref(provider, event_id).set(
                {
                    "provider": provider,
                    "event_id": event_id,
                    "event": event,
                    "outcome": outcome,
                    "processed_at": now,
                    "expires_at": now + PROCESSED_EVENT_RETENTION,
                },
                **self._rpc,
            )
