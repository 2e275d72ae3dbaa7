"""The ledger on a list, and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.ledger.effects import (
    AppendResult,
    EffectOutcome,
    EffectRequest,
    IdClaim,
    claims_to_make,
    plan_effects,
)
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry, Posting
from shared.ledger.grants import next_expiry
from shared.ledger.store import HistoryPage, LedgerStore, SideWrite

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def deep_merge(into: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``fields`` into a copy of ``into`` the way a Firestore ``set(merge=True)`` does."""
    merged = dict(into)
    for key, value in fields.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class MemoryLedger(LedgerStore):
    """The ledger's rules on a list: effects at most once, claims first, side writes with entries.

    Side writes go to the fake store that receives their kind (``sinks``); a write of a kind
    nobody receives is kept in ``unreceived`` so that a test can still see it.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.entries: list[LedgerEntry] = []
        self.effects: dict[str, list[LedgerEntry]] = {}
        self.claims: dict[str, IdClaim] = {}
        self.sinks: dict[type[SideWrite], Callable[[Any], None]] = {}
        self.unreceived: list[SideWrite] = []
        self.clock = clock or Clock()

    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[SideWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        [outcome] = self._apply(user_id, [EffectRequest(postings, effect_key, claim)], side_writes)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        return self._apply(user_id, requests, ())

    def _apply(
        self, user_id: str, requests: Sequence[EffectRequest], side_writes: Sequence[SideWrite]
    ) -> list[EffectOutcome]:
        outcomes, fresh = plan_effects(
            self.head(user_id), requests, self.effects, self.clock(), self.claims
        )
        if not fresh:
            return outcomes
        for made in claims_to_make(requests, outcomes, self.claims):
            self.claims[made.key] = made
        for result in fresh:
            self.entries += result.entries
            key = result.entries[0].effect_key
            if key:
                self.effects[key] = result.entries
        for write in side_writes:
            self.write(write)
        return outcomes

    def write(self, write: SideWrite) -> None:
        sink = self.sinks.get(type(write))
        if sink is None:
            self.unreceived.append(write)
        else:
            sink(write)

    def effect(self, effect_key: str) -> list[LedgerEntry] | None:
        return self.effects.get(effect_key)

    def accounts_due_to_expire(self, now: datetime, limit: int) -> list[str]:
        due = {
            user_id
            for user_id in {e.user_id for e in self.entries}
            if (expiry := next_expiry(self.head(user_id).open_grants())) is not None
            and expiry <= now
        }
        return sorted(due)[:limit]

    def head(self, user_id: str) -> AccountHead:
        mine = self.of(user_id)
        return mine[-1].head if mine else AccountHead(user_id)

    def of(self, user_id: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.user_id == user_id]

    def history(
        self,
        user_id: str,
        limit: int,
        cursor: str | None = None,
        entry_type: EntryType | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> HistoryPage:
        below = int(cursor) if cursor else None
        found = [
            e
            for e in reversed(self.of(user_id))
            if (entry_type is None or e.type is entry_type)
            and (below is None or e.seq < below)
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
        ]
        page = found[:limit]
        return HistoryPage(page, str(page[-1].seq) if len(found) > limit else None)
