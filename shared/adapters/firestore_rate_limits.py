"""Rate-limit slots on Firestore: one create-only document per (bucket, slot number).

``expires_at`` lets a Firestore TTL policy delete old windows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from shared.access.rate_limits import SlotCounter
from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost

RATE_LIMITS = "rate_limits"


class FirestoreSlotCounter(FirestoreStore, SlotCounter):
    def take(self, bucket: str, limit: int, expires_at: datetime) -> bool:
        collection = self._db.collection(RATE_LIMITS)
        aggregate: Any = collection.where(filter=field_filter("bucket", "==", bucket)).count()
        counted = aggregate.get(**self._rpc)
        taken = int(counted[0][0].value) if counted and counted[0] else 0
        prefix = hashlib.sha256(bucket.encode()).hexdigest()[:32]
        # Start after the slots seen taken; a slot taken meanwhile makes us try the next one.
        for slot in range(taken + 1, limit + 1):
            try:
                collection.document(f"{prefix}_{slot}").create(
                    {"bucket": bucket, "slot": slot, "expires_at": expires_at},
                    **self._rpc,
                )
            except race_lost():
                continue
            return True
        return False
