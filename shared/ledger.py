"""The credit ledger: append-only entries, one per balance change, numbered per account.

Each account's entries carry ``seq`` 1, 2, 3, ... with no gaps. The entry with the highest ``seq``
(the head) holds the authoritative ``balance_after`` and ``held_after``. Entry ids are derived from
(user_id, seq), so an account's next entry has exactly one possible id: concurrent writers race to
create it and exactly one wins (see ``shared.adapters.firestore_ledger``).

This module is pure: it decides what the next entries are; storing them is the store's job.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.errors import BillingError, Conflict, InsufficientCredits
from shared.ids import require_document_id

SEQ_DIGITS = 10


class EntryType(StrEnum):
    PURCHASE = "purchase"
    BONUS = "bonus"
    USAGE = "usage"
    REFUND = "refund"
    GRANT = "grant"
    ADJUSTMENT = "adjustment"
    HOLD = "hold"
    HOLD_CAPTURE = "hold_capture"
    HOLD_RELEASE = "hold_release"


def require_user_id(user_id: object, field_name: str = "user_id") -> str:
    """Return ``user_id`` if it is a valid account id, else raise a 400 naming the field."""
    return require_document_id(user_id, field_name)  # it names user_credits/{uid} and more


def entry_id(user_id: str, seq: int) -> str:
    """Return the document id of an account's entry number ``seq``.

    The suffix is always ``_`` plus exactly SEQ_DIGITS digits, so the id decodes uniquely.
    """
    return f"{user_id}_{seq:0{SEQ_DIGITS}d}"


def effect_id(effect_key: str) -> str:
    """Return a document id for an external effect key (which may contain any character)."""
    return hashlib.sha256(effect_key.encode()).hexdigest()


# Running sums of entry amounts per type, from the account's first entry up to some entry.
Totals = Mapping[EntryType, int]


@dataclass(frozen=True, slots=True)
class AccountHead:
    """An account's state as of its latest entry; ``seq`` 0 means no entry yet.

    ``totals`` are the lifetime sums by type, carried forward by every entry so that reading
    them costs no aggregation. ``None`` means unknown: the head was written before entries
    carried totals, and the store must sum the ledger once (see ``LedgerStore``).
    """

    user_id: str
    seq: int = 0
    balance: int = 0
    held: int = 0
    totals: Totals | None = field(default_factory=dict)

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass(frozen=True, slots=True)
class Posting:
    """A requested balance change, before it is numbered and checked against the head.

    ``amount`` changes the balance; ``held_delta`` changes the reserved part of it (holds).
    ``allow_negative`` is the one documented overdraft: a clawback (refund of spent credits) may
    take the balance below zero rather than lose track of money owed.
    """

    type: EntryType
    amount: int
    held_delta: int = 0
    description: str = ""
    service: str | None = None
    actor: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    allow_negative: bool = False


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One stored balance change."""

    user_id: str
    seq: int
    type: EntryType
    amount: int
    balance_after: int
    held_after: int
    created_at: datetime
    effect_key: str | None = None
    description: str = ""
    service: str | None = None
    actor: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    totals_after: Totals | None = None  # None only on entries written before totals existed

    @property
    def id(self) -> str:
        return entry_id(self.user_id, self.seq)

    @property
    def head(self) -> AccountHead:
        return AccountHead(
            self.user_id, self.seq, self.balance_after, self.held_after, self.totals_after
        )


def add_to_totals(totals: Totals, entry_type: EntryType, amount: int) -> dict[EntryType, int]:
    """Return ``totals`` with ``amount`` added to ``entry_type``'s sum."""
    return {**totals, entry_type: totals.get(entry_type, 0) + amount}


def same_totals(a: Totals, b: Totals) -> bool:
    """Compare totals, a missing type counting as zero (holds move no balance)."""
    return {t: n for t, n in a.items() if n} == {t: n for t, n in b.items() if n}


def post(
    head: AccountHead, postings: Sequence[Posting], now: datetime, effect_key: str | None = None
) -> list[LedgerEntry]:
    """Number and apply ``postings`` after ``head``, or raise if the account cannot afford them.

    A posting that lowers the available balance below zero, or takes the balance below zero,
    raises ``InsufficientCredits`` unless it is an explicit overdraft; nothing is applied in that
    case (all postings or none).
    """
    if not postings:
        raise ValueError("post needs at least one posting")
    if head.totals is None:
        raise ValueError("the head's totals are unknown; the store must sum the ledger first")
    entries: list[LedgerEntry] = []
    current = head
    for posting in postings:
        if isinstance(posting.amount, bool) or not isinstance(posting.amount, int):
            raise TypeError("ledger amounts are integers in credit units")
        balance = current.balance + posting.amount
        held = current.held + posting.held_delta
        if held < 0:
            raise ValueError("held credits cannot go below zero")
        # Spending or reserving must fit what is available. Capturing a hold spends credits it
        # already reserved (available unchanged), so it only has to fit the balance: after a
        # clawback of reserved credits (available < 0) a capture the balance covers still works.
        lowers_available = posting.amount - posting.held_delta < 0
        overdraws = (lowers_available and balance - held < 0) or (
            posting.amount < 0 and balance < 0
        )
        if overdraws and not posting.allow_negative:
            raise InsufficientCredits(
                "not enough credits",
                {"available": current.available, "requested": -posting.amount + posting.held_delta},
            )
        entry = LedgerEntry(
            user_id=head.user_id,
            seq=current.seq + 1,
            type=posting.type,
            amount=posting.amount,
            balance_after=balance,
            held_after=held,
            created_at=now,
            effect_key=effect_key,
            description=posting.description,
            service=posting.service,
            actor=posting.actor,
            source=dict(posting.source),
            totals_after=add_to_totals(current.totals or {}, posting.type, posting.amount),
        )
        entries.append(entry)
        current = entry.head
    return entries


def invariant_violations(entries: Iterable[LedgerEntry]) -> list[str]:
    """Return what is wrong with one account's entries (empty when the ledger is sound).

    Checks: seq contiguous from 1; each balance_after equals the previous plus amount, and
    each totals_after the previous totals plus amount (where both are known); no debit takes the
    balance below zero except an overdraft-capable type; held never negative.
    """
    problems: list[str] = []
    previous = None
    for entry in sorted(entries, key=lambda e: e.seq):
        expected_seq = 1 if previous is None else previous.seq + 1
        if entry.seq != expected_seq:
            problems.append(f"{entry.user_id}: seq {entry.seq} where {expected_seq} was expected")
        before = 0 if previous is None else previous.balance_after
        if entry.balance_after != before + entry.amount:
            problems.append(
                f"{entry.id}: balance_after {entry.balance_after} != {before} + {entry.amount}"
            )
        totals_before: Totals | None = {} if previous is None else previous.totals_after
        if entry.totals_after is not None and totals_before is not None:
            expected = add_to_totals(totals_before, entry.type, entry.amount)
            if not same_totals(entry.totals_after, expected):
                problems.append(f"{entry.id}: totals_after {dict(entry.totals_after)} wrong")
        # Only a debit can overdraw; a credit that leaves an overdraft smaller (a grant after a
        # clawback) pays part of it off.
        overdrawn_by = entry.balance_after < 0 and entry.amount < 0
        if overdrawn_by and entry.type not in OVERDRAFT_TYPES:
            problems.append(f"{entry.id}: balance {entry.balance_after} below zero")
        if entry.held_after < 0:
            problems.append(f"{entry.id}: held {entry.held_after} below zero")
        previous = entry
    return problems


# Only a clawback of refunded purchases may leave the balance below zero (see Posting).
OVERDRAFT_TYPES = frozenset({EntryType.REFUND, EntryType.ADJUSTMENT})


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the entries of the effect, and whether they already existed."""

    entries: list[LedgerEntry]
    replayed: bool = False

    @property
    def head(self) -> AccountHead:
        return self.entries[-1].head


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[LedgerEntry]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IdClaim:
    """A caller's id that is unique across accounts (usage event, hold, admin key) and its use.

    The effect key guards one account only; the claim, created before the ledger commit and
    never changed, ties the id to one account, amount, caller and ``terms`` (anything else
    that must be the same on a repeat, e.g. the endpoint).
    """

    key: str
    account: str
    amount: int
    caller: str
    terms: str = ""

    def same_use(self, other: IdClaim) -> bool:
        return (self.account, self.amount, self.caller, self.terms) == (
            other.account,
            other.amount,
            other.caller,
            other.terms,
        )


class IdClaimed(Conflict):
    """The id is claimed for another account, amount or caller; says nothing of which."""

    def __init__(self) -> None:
        super().__init__("this id is already used for another account, amount or caller")


@dataclass(frozen=True, slots=True)
class EffectRequest:
    """One external effect to apply at most once: its postings, under its effect key."""

    postings: Sequence[Posting]
    effect_key: str | None = None
    claim: IdClaim | None = None


@dataclass(frozen=True, slots=True)
class EffectOutcome:
    """What became of one effect of a batch: applied or replayed, or refused (credits, claim)."""

    result: AppendResult | None = None
    error: BillingError | None = None


# One commit holds each effect's entries and effect record plus the head pointer: well under
# Firestore's 500 writes per commit.
MAX_EFFECTS_PER_COMMIT = 200


def plan_effects(
    head: AccountHead,
    requests: Sequence[EffectRequest],
    replays: Mapping[str, list[LedgerEntry]],
    now: datetime,
    claims: Mapping[str, IdClaim] | None = None,
) -> tuple[list[EffectOutcome], list[AppendResult]]:
    """Decide, in order, what each effect does after ``head``; return outcomes and new results.

    An effect whose id is claimed (in ``claims``) for another use is refused, before anything
    else, so that no other account's entries reach its caller; an effect already applied (in
    ``replays``, or earlier in this batch) is replayed; one the account cannot afford is refused
    alone; the others are numbered one after another.
    """
    outcomes: list[EffectOutcome] = []
    fresh: list[AppendResult] = []
    applied: dict[str, list[LedgerEntry]] = {}
    current = head
    for request in requests:
        claimed = (claims or {}).get(request.claim.key) if request.claim else None
        if request.claim and claimed and not claimed.same_use(request.claim):
            outcomes.append(EffectOutcome(error=IdClaimed()))
            continue
        key = request.effect_key
        earlier = (replays.get(key) or applied.get(key)) if key else None
        if earlier:
            outcomes.append(EffectOutcome(AppendResult(earlier, replayed=True)))
            continue
        try:
            entries = post(current, request.postings, now, key)
        except InsufficientCredits as error:
            outcomes.append(EffectOutcome(error=error))
            continue
        if key:
            applied[key] = entries
        result = AppendResult(entries)
        fresh.append(result)
        outcomes.append(EffectOutcome(result))
        current = result.head
    return outcomes, fresh


def claims_to_make(
    requests: Sequence[EffectRequest],
    outcomes: Sequence[EffectOutcome],
    claims: Mapping[str, IdClaim],
) -> list[IdClaim]:
    """Return the claims the newly applied effects need and that are not stored yet."""
    return [
        request.claim
        for request, outcome in zip(requests, outcomes, strict=True)
        if request.claim is not None
        and request.claim.key not in claims
        and outcome.result is not None
        and not outcome.result.replayed
    ]


class LedgerStore(ABC):
    """Port: where ledger entries are kept."""

    @abstractmethod
    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        """Apply several effects to one account in one commit, each at most once, in order.

        An effect the account cannot afford is refused on its own; the rest still apply.
        """

    @abstractmethod
    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[SideWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        """Append ``postings`` as the account's next entries, at most once per ``effect_key``.

        ``side_writes`` are committed atomically with the entries, and only if they are new.
        ``claim`` is created (once) before the entries; a claim for another use raises
        ``IdClaimed`` and writes nothing.
        """

    @abstractmethod
    def head(self, user_id: str) -> AccountHead:
        """Return the account's authoritative head (seq 0 if it has no entries)."""

    @abstractmethod
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
        """Return entries newest first; ``since`` inclusive, ``until`` exclusive (created_at)."""


class SideWrite:
    """A change of another record that rides in the same commit as ledger entries.

    Each domain module defines its own (an order paid, a hold placed or settled) in its own
    terms; the store maps them to where and how it keeps them. It carries no precondition (the
    commit's only one guards the ledger entry).
    """

    __slots__ = ()
