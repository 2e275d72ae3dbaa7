"""Holds on Firestore: ``holds/{hold_id}``, written as side writes of ledger commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.adapters.firestore_ledger_codec import CLAIMS, claim_from_document, claim_to_document
from shared.errors import Unavailable
from shared.ledger.effects import IdClaim
from shared.ledger.entries import effect_id
from shared.usage.charges import usage_effect_key
from shared.usage.holds import Hold, HoldStatus, HoldStore, MeteredEvent

HOLDS = "holds"

# Reads per batch get and creates per commit when recording a budget's events (a commit holds
# at most 500 writes).
EVENTS_PER_READ = 1_000
EVENTS_PER_COMMIT = 450


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

    def record_events(
        self, hold: Hold, events: Sequence[MeteredEvent], actor: str
    ) -> list[MeteredEvent]:
        """Create each event's id claim (the one a single charge would create), in batches.

        A commit that loses a create to someone else is read again, and what is still unclaimed
        is tried once more (a commit is atomic: none of its claims landed; on a store that
        applies writes one by one, those before the lost one would be ours, and read as such).
        """
        terms = f"budget:{hold.hold_id}"
        pending = {usage_effect_key(hold.service, e.event_id): e for e in events}
        charged: list[MeteredEvent] = []
        for _ in range(5):
            stored = self._claims(list(pending))
            new = []
            for key, event in pending.items():
                claim = stored.get(key)
                if claim is None:
                    new.append((key, event))
                elif claim.terms == terms:
                    charged.append(event)  # recorded by an earlier attempt of this capture
            lost: dict[str, MeteredEvent] = {}
            for start in range(0, len(new), EVENTS_PER_COMMIT):
                chunk = new[start : start + EVENTS_PER_COMMIT]
                batch = self._db.batch()
                for key, event in chunk:
                    claim = IdClaim(key, hold.user_id, event.amount, actor, terms)
                    batch.create(
                        self._db.collection(CLAIMS).document(effect_id(key)),
                        claim_to_document(claim) | {"created_at": self._clock()},
                    )
                try:
                    batch.commit(**self._rpc)
                except race_lost():
                    lost.update(chunk)
                    continue
                charged += [event for _, event in chunk]
            if not lost:
                return charged
            pending = lost
        raise Unavailable("the events' ids kept being taken meanwhile; retry", {"retryable": True})

    def _claims(self, keys: Sequence[str]) -> dict[str, IdClaim]:
        found: dict[str, IdClaim] = {}
        for start in range(0, len(keys), EVENTS_PER_READ):
            refs = [
                self._db.collection(CLAIMS).document(effect_id(key))
                for key in keys[start : start + EVENTS_PER_READ]
            ]
            for snapshot in self._db.get_all(refs, **self._rpc):
                data = snapshot.to_dict() if snapshot.exists else None
                if data:
                    found[data["key"]] = claim_from_document(data)
        return found
