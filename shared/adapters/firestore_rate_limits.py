"""Rate-limit slots on Firestore: one create-only document per (bucket, slot number).

``expires_at`` lets a Firestore TTL policy delete old windows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_client import rpc_options
from shared.adapters.firestore_ledger import _eq, _unavailable_on_outage
from shared.rate_limits import SlotCounter

if TYPE_CHECKING:
    from google.cloud import firestore

RATE_LIMITS = "rate_limits"


class FirestoreSlotCounter(SlotCounter):
    def __init__(self, client: firestore.Client, timeout_seconds: float = 10.0) -> None:
        self._db = client
        self._rpc = rpc_options(timeout_seconds)

    def take(self, bucket: str, limit: int, expires_at: datetime) -> bool:
        collection = self._db.collection(RATE_LIMITS)
        aggregate: Any = collection.where(filter=_eq("bucket", bucket)).count()
        with _unavailable_on_outage():
            counted = aggregate.get(**self._rpc)
        taken = int(counted[0][0].value) if counted and counted[0] else 0
        prefix = hashlib.sha256(bucket.encode()).hexdigest()[:32]
        # Start after the slots seen taken; a slot taken meanwhile makes us try the next one.
        for slot in range(taken + 1, limit + 1):
            try:
                with _unavailable_on_outage():
                    collection.document(f"{prefix}_{slot}").create(
                        {"bucket": bucket, "slot": slot, "expires_at": expires_at},
                        **self._rpc,
                    )
            except (gexc.AlreadyExists, gexc.Conflict):
                continue
            return True
        return False
