"""Idempotency records in Firestore: ``idempotency_keys/{scoped key}``.

A request claims its key with a create (the document's only precondition), so of two concurrent
requests with one key exactly one runs. A retry that takes over a dead request's key claims the
next attempt the same way, by creating ``{scoped key}~{attempt}`` first in its commit: of many
concurrent retries exactly one takes over, the others get 409 (the emulator has no isolation, so
a read-then-set would let them all run). ``expires_at`` is the collection's TTL field
(``firestore.indexes.json``): Firestore deletes records, and takeover claims, after 24 hours.
"""

from __future__ import annotations

import json
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, race_lost
from shared.errors import Conflict, IdempotencyKeyReused
from shared.idempotency import ABANDONED_AFTER, RETENTION, IdempotencyStore, StoredResponse

COLLECTION = "idempotency_keys"


class FirestoreIdempotencyStore(FirestoreStore, IdempotencyStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The attempt this instance runs of each key it began: only that attempt may give up.
        self._attempts: dict[str, int] = {}

    def begin(self, key: str, fingerprint: str) -> StoredResponse | None:
        ref = self._db.collection(COLLECTION).document(key)
        now = self._clock()
        claim = {
            "fingerprint": fingerprint,
            "state": "running",
            "attempt": 1,
            "started_at": now,
            "expires_at": now + RETENTION,
        }
        try:
            ref.create(claim, **self._rpc)
            self._attempts[key] = 1
            return None
        except race_lost():
            pass
        record: dict[str, Any] = ref.get(**self._rpc).to_dict() or {}
        if record.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request",
                {"fields": {"Idempotency-Key": "already used with other parameters"}},
            )
        if record.get("state") == "done":
            return StoredResponse(int(record["status"]), json.loads(record["body_json"]))
        # An attempt that failed (abandoned) or died (running too long) is taken over by one retry.
        stale = record.get("state") == "abandoned" or now - record["started_at"] > ABANDONED_AFTER
        if stale and self._take_over(key, record, claim):
            return None
        raise Conflict(
            "a request with this Idempotency-Key is still running; retry later", {"retryable": True}
        )

    def _take_over(self, key: str, record: dict[str, Any], claim: dict[str, Any]) -> bool:
        """Claim the next attempt of a dead request's key; False if another retry claimed it."""
        attempt = int(record.get("attempt", 1)) + 1
        batch = self._db.batch()
        batch.create(
            self._db.collection(COLLECTION).document(f"{key}~{attempt}"),
            {"attempt": attempt, "expires_at": claim["expires_at"]},
        )
        batch.set(self._db.collection(COLLECTION).document(key), {**claim, "attempt": attempt})
        try:
            batch.commit(**self._rpc)
        except race_lost():
            return False
        self._attempts[key] = attempt
        return True

    def finish(self, key: str, response: StoredResponse) -> None:
        self._attempts.pop(key, None)  # one entry per running request, not per request ever
        self._db.collection(COLLECTION).document(key).set(
            # Stored as JSON text so the replay is byte-for-byte the first answer. The body is
            # already plain JSON (functions/http.py encodes it once): no formatter of our own.
            {
                "state": "done",
                "status": response.status,
                "body_json": json.dumps(response.body),
            },
            merge=True,
            **self._rpc,
        )

    def abandon(self, key: str) -> None:
        """Mark our attempt failed, so the next request takes over at once (counted on).

        Never a delete: a slow attempt failing after a retry took its key over would free the
        key under the retry, and a restarted count would collide with the old takeover claims.
        """
        ours = self._attempts.pop(key, None)
        ref = self._db.collection(COLLECTION).document(key)
        record = ref.get(**self._rpc).to_dict() or {}
        if ours is not None and record.get("attempt", 1) == ours and record.get("state") != "done":
            ref.set({"state": "abandoned"}, merge=True, **self._rpc)
