"""Idempotency records in Firestore: ``idempotency_keys/{scoped key}``.

A request claims its key with a create (the document's only precondition), so of two concurrent
requests with one key exactly one runs. Every later move of the key is claimed the same way, by
creating ``{scoped key}~{n}`` first in its commit, where n is one more than the record's attempt:
a retry taking over a dead attempt, the attempt storing its answer, the attempt giving up. Of the
attempt's own ending and a retry's takeover exactly one commits, so a slow attempt that finishes
after its key was taken over stores nothing (a read-then-set would let both write; creates are
the one precondition every Firestore the service has run on honours). ``expires_at`` is the
collection's TTL field (``firestore.indexes.json``): Firestore deletes records, and claims, after
24 hours.
"""

from __future__ import annotations

import json
from typing import Any

from shared.access.idempotency import ABANDONED_AFTER, RETENTION, IdempotencyStore, StoredResponse
from shared.adapters.firestore_client import FirestoreStore, race_lost
from shared.errors import Conflict, IdempotencyKeyReused
from shared.log import get_logger

COLLECTION = "idempotency_keys"

log = get_logger("idempotency")


class FirestoreIdempotencyStore(FirestoreStore, IdempotencyStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The attempt this instance runs of each key it began: only that attempt may end it.
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
        if stale:
            attempt = int(record.get("attempt", 1)) + 1
            if self._move(key, attempt, {**claim, "attempt": attempt}):
                self._attempts[key] = attempt
                return None
        raise Conflict(
            "a request with this Idempotency-Key is still running; retry later", {"retryable": True}
        )

    def finish(self, key: str, response: StoredResponse) -> None:
        ours = self._attempts.pop(key, None)  # one entry per running request, not per request ever
        # Stored as JSON text so the replay is byte-for-byte the first answer. The body is
        # already plain JSON (functions/http.py encodes it once): no formatter of our own.
        body_json = json.dumps(response.body)
        answer = {"state": "done", "status": response.status, "body_json": body_json}
        if ours is None or not self._move(key, ours + 1, answer):
            # A retry took the key over while this attempt ran: its answer is the one kept.
            log.warning("late idempotent answer refused", extra={"attempt": ours})

    def abandon(self, key: str) -> None:
        """Mark our attempt failed, so the next request takes over at once (counted on).

        Never a delete: a slow attempt failing after a retry took its key over would free the
        key under the retry, and a restarted count would collide with the old claims. Giving up
        claims the next attempt number too (so a retry's takeover and this cannot both commit);
        the retry that takes the key over then claims the one after.
        """
        ours = self._attempts.pop(key, None)
        if ours is not None:
            self._move(key, ours + 1, {"state": "abandoned", "attempt": ours + 1})

    def _move(self, key: str, attempt: int, fields: dict[str, Any]) -> bool:
        """Claim ``attempt`` and update the record in one commit; False if it was claimed."""
        batch = self._db.batch()
        batch.create(  # first in the commit: the emulator stops at the first failed precondition
            self._db.collection(COLLECTION).document(f"{key}~{attempt}"),
            {"attempt": attempt, "expires_at": self._clock() + RETENTION},
        )
        batch.set(self._db.collection(COLLECTION).document(key), fields, merge=True)
        try:
            batch.commit(**self._rpc)
        except race_lost():
            return False
        return True
