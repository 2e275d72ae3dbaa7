"""The ledger on Firestore, following the concurrency rule of docs/ledger.md.

Every commit that changes a balance is guarded by the *create* of the account's next entry:
concurrent writers race for the same document id; one wins, the losers re-read and try again
(bounded, then ``LedgerContention``, a 503). Ids unique across accounts (a usage event, a hold,
an admin key) ride in the same commit as create-only claims ``id_claims/{sha256(key)}``, so one
atomic commit carries both kinds of precondition.

Commit layout, in this order. Production and Google's emulator apply a commit atomically; the
order is what also kept it correct on a store that applies writes one by one and stops at the
first failing precondition (the stack's emulator before issue 28):
1. create each new id claim. A claim that exists stops the commit before any entry: nothing of
   the effect is written. A claim written before a lost entry race is ours (same account, amount,
   caller), read back on the retry and not created again;
2. create ``credit_transactions/{user_id}_{seq}`` for each entry (the first is the account's
   guard; the rest are creates too, so an entry can never be overwritten);
3. set ``ledger_effects/{sha256(effect_key)}`` with the entries, when the change has an effect key;
4. the caller's side writes (an order paid, a hold settled: ``firestore_side_writes``);
5. set the head pointer's fields of ``user_credits/{user_id}`` (field mask: the user's settings
   stay), last, so a pointer at ``seq`` means every record up to ``seq`` is readable. It is
   what client apps listen to, and what the low-balance alert's ``written`` trigger watches;
6. an account whose pointer was still in ``ledger_heads`` (written before pointers moved into
   ``user_credits``) has it deleted in the same commit: migration happens lazily, on the
   account's next write.

A write reads the pointer, the effect records and the claims in one batch get; a repeat ends
there, writing nothing. The pointer is a cache, never a guard: after a lost race the next read
shows the winner's pointer (commits are atomic) or, if it does not (an older pointer), the
authoritative head is read by query.

Entries and the head pointer carry the account's lifetime totals by type (``totals_after``), so
the account view reads them instead of aggregating the ledger. An account whose head predates
them is summed once (``sums_by_type``) before its next entry is written.

Within one instance, appends to the same account queue on a local lock instead of racing: the
race rule is what keeps instances correct against each other, the lock only saves the round trips
that same-instance losers would waste.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.adapters.firestore_ledger_codec import (
    CLAIMS,
    EFFECTS,
    HEAD_FIELDS,
    LEGACY_HEADS,
    TRANSACTIONS,
    USER_CREDITS,
    claim_from_document,
    claim_to_document,
    entry_from_document,
    entry_to_document,
    head_from_pointer,
    head_to_document,
    is_head_pointer,
)
from shared.adapters.firestore_side_writes import document_write
from shared.errors import InvalidRequest, LedgerContention
from shared.ledger.effects import (
    MAX_EFFECTS_PER_COMMIT,
    AppendResult,
    EffectOutcome,
    EffectRequest,
    IdClaim,
    claims_to_make,
    plan_effects,
    related_keys,
)
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry, Posting, effect_id
from shared.ledger.store import HistoryPage, LedgerStore, SideWrite
from shared.log import get_logger

if TYPE_CHECKING:
    from google.cloud import firestore

log = get_logger("ledger")


# Firestore's limit on values in one "in" filter.
IN_QUERY_LIMIT = 30

# Losing the race means someone else just wrote: retry soon, with jitter so losers spread out.
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.25


class FirestoreLedger(FirestoreStore, LedgerStore):
    """``LedgerStore`` on a Firestore database."""

    def __init__(
        self,
        client: firestore.Client,
        max_attempts: int = 20,
        timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(client, timeout_seconds, clock)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.conflicts = 0  # races lost since construction; read by benchmarks
        self._account_locks: weakref.WeakValueDictionary[str, _AccountLock] = (
            weakref.WeakValueDictionary()
        )
        self._locks_guard = threading.Lock()

    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[SideWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        request = EffectRequest(postings, effect_key, claim)
        [outcome] = self._locked_apply(user_id, [request], side_writes)
        if outcome.error is not None:
            raise outcome.error
        if outcome.result is None:
            raise AssertionError("an effect ends applied, replayed or refused")
        return outcome.result

    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        if len(requests) > MAX_EFFECTS_PER_COMMIT:
            raise ValueError(f"at most {MAX_EFFECTS_PER_COMMIT} effects per commit")
        return self._locked_apply(user_id, requests, ())

    def _locked_apply(
        self,
        user_id: str,
        requests: Sequence[EffectRequest],
        side_writes: Sequence[SideWrite],
    ) -> list[EffectOutcome]:
        with self._locks_guard:
            account_lock = self._account_locks.setdefault(user_id, _AccountLock())
        with account_lock.lock:
            return self._apply(user_id, requests, side_writes)

    def _apply(
        self,
        user_id: str,
        requests: Sequence[EffectRequest],
        side_writes: Sequence[SideWrite],
    ) -> list[EffectOutcome]:
        keys = sorted(
            {r.effect_key for r in requests if r.effect_key} | set(related_keys(requests))
        )
        claim_keys = sorted({r.claim.key for r in requests if r.claim})
        lost: _Read | None = None  # what the last lost race was planned on
        for attempt in range(self._max_attempts):
            read = self._fast_read(user_id, keys, claim_keys)
            if read.pointer is None or (lost is not None and not read.moved_on_from(lost)):
                # No pointer in user_credits yet (a new account, or one not written since
                # pointers moved there), or a lost race the pointer does not show yet: read the
                # authoritative head, and after a race the effects too, from the entries.
                read.pointer = self.head(user_id)
                if lost is not None:
                    read.replays = self._effects_by_query(keys) | read.replays
            head = read.pointer
            if head.totals is None:
                head = replace(head, totals=self.sums_by_type(user_id, head.seq))
            outcomes, fresh = plan_effects(head, requests, read.replays, self._clock(), read.claims)
            if not fresh:
                return outcomes  # all replayed or refused: nothing to write
            try:
                claims = claims_to_make(requests, outcomes, read.claims)
                self._commit(claims, fresh, side_writes, migrate=not read.in_user_credits)
            except race_lost():
                self.conflicts += 1
                lost = read
                self._sleep(_jittered_backoff(attempt))
                continue
            _log_entries(outcomes)
            return outcomes
        log.warning("ledger contention", extra={"user_id": user_id, "attempts": self._max_attempts})
        raise LedgerContention(
            "the account is busy; retry the request", {"user_id": user_id, "retryable": True}
        )

    def head(self, user_id: str) -> AccountHead:
        query = (
            self._db.collection(TRANSACTIONS)
            .where(filter=field_filter("user_id", "==", user_id))
            .order_by("seq", direction="DESCENDING")
            .limit(1)
        )
        docs = list(query.stream(**self._rpc))
        return entry_from_document(_data(docs[0])).head if docs else AccountHead(user_id)

    def effect(self, effect_key: str) -> list[LedgerEntry] | None:
        snapshot = self._db.collection(EFFECTS).document(effect_id(effect_key)).get(**self._rpc)
        if snapshot.exists:
            return [entry_from_document(e) for e in _data(snapshot)["entries"]]
        # The record is written with the entries; an effect from before records is found by them.
        return self._effects_by_query([effect_key]).get(effect_key)

    def accounts_due_to_expire(self, now: datetime, limit: int) -> list[str]:
        # Pointers not yet moved out of ledger_heads are due too (deleted when they move).
        due: dict[str, None] = {}
        for collection in (USER_CREDITS, LEGACY_HEADS):
            query = (
                self._db.collection(collection)
                .where(filter=field_filter("next_expiry", "<=", now))
                .order_by("next_expiry")
                .limit(limit - len(due))
            )
            due |= dict.fromkeys(snapshot.id for snapshot in query.stream(**self._rpc))
            if len(due) >= limit:
                break
        return list(due)

    def sums_by_type(self, user_id: str, up_to_seq: int) -> dict[EntryType, int]:
        return sums_by_type(self._db, user_id, up_to_seq, self._rpc)

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
        lowest, highest = self._seq_bounds(user_id, since, until)
        if cursor is not None:
            below = _cursor_seq(cursor) - 1
            highest = below if highest is None else min(highest, below)
        if lowest is not None and highest is not None and lowest > highest:
            return HistoryPage([], None)
        query = self._db.collection(TRANSACTIONS).where(
            filter=field_filter("user_id", "==", user_id)
        )
        if entry_type is not None:
            query = query.where(filter=field_filter("type", "==", entry_type.value))
        # Range filters on seq rather than start_after: same index, and the emulator supports it.
        if lowest is not None:
            query = query.where(filter=field_filter("seq", ">=", lowest))
        if highest is not None:
            query = query.where(filter=field_filter("seq", "<=", highest))
        query = query.order_by("seq", direction="DESCENDING")
        docs = list(query.limit(limit + 1).stream(**self._rpc))
        entries = [entry_from_document(_data(doc)) for doc in docs[:limit]]
        next_cursor = str(entries[-1].seq) if len(docs) > limit else None
        return HistoryPage(entries, next_cursor)

    def _seq_bounds(
        self, user_id: str, since: datetime | None, until: datetime | None
    ) -> tuple[int | None, int | None]:
        """Translate a created_at range into a seq range (both grow together per account).

        An account's entries are numbered in commit order and stamped at commit time, so a time
        range is a seq range; this keeps every history query on the one (user_id, seq) index
        shape. An empty range comes back as (1, 0).
        """
        lowest = highest = None
        base = self._db.collection(TRANSACTIONS).where(
            filter=field_filter("user_id", "==", user_id)
        )
        if since is not None:
            query = base.where(filter=field_filter("created_at", ">=", since)).order_by(
                "created_at"
            )
            docs = list(query.limit(1).stream(**self._rpc))
            if not docs:
                return 1, 0
            lowest = int(_data(docs[0])["seq"])
        if until is not None:
            query = base.where(filter=field_filter("created_at", "<", until)).order_by(
                "created_at", direction="DESCENDING"
            )
            docs = list(query.limit(1).stream(**self._rpc))
            if not docs:
                return 1, 0
            highest = int(_data(docs[0])["seq"])
        return lowest, highest

    def entries(self, user_id: str) -> list[LedgerEntry]:
        """Return every entry of an account, oldest first (audits and tests)."""
        query = (
            self._db.collection(TRANSACTIONS)
            .where(filter=field_filter("user_id", "==", user_id))
            .order_by("seq")
        )
        return [entry_from_document(_data(d)) for d in query.stream(**self._rpc)]

    def _fast_read(
        self, user_id: str, effect_keys: Sequence[str], claim_keys: Sequence[str]
    ) -> _Read:
        """Read the head pointer, effect records and id claims in one batch get."""
        refs = [self._db.collection(USER_CREDITS).document(user_id)]
        refs += [self._db.collection(EFFECTS).document(effect_id(k)) for k in effect_keys]
        refs += [self._db.collection(CLAIMS).document(effect_id(k)) for k in claim_keys]
        read = _Read()
        for snapshot in self._db.get_all(refs, **self._rpc):
            if not snapshot.exists:
                continue
            data = _data(snapshot)
            collection = snapshot.reference.parent.id
            if collection == USER_CREDITS:
                if is_head_pointer(data):
                    read.pointer = head_from_pointer(user_id, data)
                    read.in_user_credits = True
            elif collection == CLAIMS:
                read.claims[data["key"]] = claim_from_document(data)
            else:
                read.replays[data["effect_key"]] = [entry_from_document(e) for e in data["entries"]]
        return read

    def _effects_by_query(self, effect_keys: Sequence[str]) -> dict[str, list[LedgerEntry]]:
        """Find applied effects from the entries themselves (authoritative, unlike the records)."""
        found: dict[str, list[LedgerEntry]] = {}
        for start in range(0, len(effect_keys), IN_QUERY_LIMIT):
            chunk = list(effect_keys[start : start + IN_QUERY_LIMIT])
            query = self._db.collection(TRANSACTIONS).where(
                filter=field_filter("effect_key", "in", chunk)
            )
            for snapshot in query.stream(**self._rpc):
                entry = entry_from_document(_data(snapshot))
                found.setdefault(entry.effect_key or "", []).append(entry)
        return {key: sorted(entries, key=lambda e: e.seq) for key, entries in found.items()}

    def _commit(
        self,
        claims: Sequence[IdClaim],
        results: Sequence[AppendResult],
        side_writes: Iterable[SideWrite],
        migrate: bool,
    ) -> None:
        """Write claims, entries, effect records, side writes and the head pointer at once."""
        batch = self._db.batch()
        for claim in claims:
            ref = self._db.collection(CLAIMS).document(effect_id(claim.key))
            batch.create(ref, claim_to_document(claim) | {"created_at": self._clock()})
        for result in results:
            for entry in result.entries:
                batch.create(
                    self._db.collection(TRANSACTIONS).document(entry.id), entry_to_document(entry)
                )
        for result in results:
            first = result.entries[0]
            if first.effect_key:
                batch.set(
                    self._db.collection(EFFECTS).document(effect_id(first.effect_key)),
                    {
                        "effect_key": first.effect_key,
                        "user_id": first.user_id,
                        "entries": [entry_to_document(e) for e in result.entries],
                        "created_at": first.created_at,
                    },
                )
        for write in map(document_write, side_writes):
            ref = self._db.collection(write.collection).document(write.document_id)
            batch.set(ref, dict(write.data), merge=write.merge)
        last = results[-1].entries[-1]
        batch.set(
            self._db.collection(USER_CREDITS).document(last.user_id),
            head_to_document(last),
            merge=list(HEAD_FIELDS),
        )
        if migrate:
            batch.delete(self._db.collection(LEGACY_HEADS).document(last.user_id))
        batch.commit(**self._rpc)


@dataclass(slots=True)
class _Read:
    """What one batch get found: the head pointer, applied effects and claims of the ids."""

    pointer: AccountHead | None = None
    in_user_credits: bool = False
    replays: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    claims: dict[str, IdClaim] = field(default_factory=dict)

    def moved_on_from(self, lost: _Read) -> bool:
        """True when this read shows what beat ``lost``: a newer head or a new claim."""
        if self.pointer is None or lost.pointer is None:
            return False
        return self.pointer.seq > lost.pointer.seq or self.claims.keys() != lost.claims.keys()


def sums_by_type(
    db: firestore.Client, user_id: str, up_to_seq: int, rpc: Mapping[str, Any]
) -> dict[EntryType, int]:
    """Sum an account's entry amounts per type up to ``up_to_seq``: one aggregation per type.

    Only for accounts whose head predates running totals. Bounded by seq, so an entry
    committed meanwhile cannot leak in (index: user_id, type, seq).
    """
    sums: dict[EntryType, int] = {}
    for entry_type in EntryType:
        query = (
            db.collection(TRANSACTIONS)
            .where(filter=field_filter("user_id", "==", user_id))
            .where(filter=field_filter("type", "==", entry_type.value))
            .where(filter=field_filter("seq", "<=", up_to_seq))
        )
        aggregation: Any = query.sum("amount", alias="total")  # the SDK's stubs are wrong here
        results = aggregation.get(**rpc)
        value = results[0][0].value if results and results[0] else 0
        if value:
            sums[entry_type] = int(value)
    return sums


class _AccountLock:
    """A lock that can be weakly referenced, so idle accounts' locks are freed."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


def _log_entries(outcomes: Sequence[EffectOutcome]) -> None:
    """Log one "ledger entry" per entry written (a replay writes none): the credits metric."""
    for outcome in outcomes:
        if outcome.result is not None and not outcome.result.replayed:
            for entry in outcome.result.entries:
                log.info(
                    "ledger entry",
                    extra={
                        "entry_type": entry.type.value,
                        # The distribution's value is the magnitude (buckets start at 0);
                        # the signed amount lets sums net out types that go both ways.
                        "credits": abs(entry.amount),
                        "amount": entry.amount,
                        "service": entry.service,
                    },
                )


def _jittered_backoff(attempt: int) -> float:
    """Full jitter: a random pause up to an exponentially growing cap."""
    cap = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    return random.uniform(0, cap)  # noqa: S311 - spreading retries, not security


def _data(snapshot: Any) -> dict[str, Any]:
    data = snapshot.to_dict()
    if data is None:
        raise LookupError(f"document {snapshot.reference.path} vanished")
    return dict(data)


def _cursor_seq(cursor: str) -> int:
    # isdigit() alone admits '²' and numbers Firestore cannot hold; our cursors are seqs.
    if not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63):
        raise InvalidRequest(
            "cursor: not a cursor this service issued", {"fields": {"cursor": "invalid"}}
        )
    return int(cursor)
