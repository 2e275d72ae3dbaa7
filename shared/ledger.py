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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from shared.errors import BillingError, Conflict, InsufficientCredits
from shared.grants import (
    PAID,
    PROMOTIONAL,
    Draw,
    Grant,
    GrantTerms,
    add,
    draw,
    draws_total,
    expire,
    in_consumption_order,
    last_credits,
    restore,
    total,
)
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
    EXPIRY = "expiry"
    VOID = "void"


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

    ``grants`` are the open grants (``shared.grants``); together they hold the available
    credits, ``max(0, available)``: credits a hold reserves have left their grants for the hold.
    ``None`` means the head predates grants: its available credits are one paid grant.
    """

    user_id: str
    seq: int = 0
    balance: int = 0
    held: int = 0
    totals: Totals | None = field(default_factory=dict)
    grants: tuple[Grant, ...] | None = ()

    @property
    def available(self) -> int:
        return self.balance - self.held

    def open_grants(self) -> tuple[Grant, ...]:
        """The open grants; for a head from before grants, one paid grant of what is available."""
        if self.grants is not None:
            return self.grants
        if self.available <= 0:
            return ()
        return (Grant(PAID, self.available, datetime.min.replace(tzinfo=UTC)),)

    def as_of(self, now: datetime) -> AccountHead:
        """The head as a read at ``now`` must see it: grants expired by then are gone.

        The expiry entry is written by the next commit of the account or the expiry job; no read
        counts an expired credit before that.
        """
        lapsed = expiry_entry(self, now, None)
        if lapsed is None:
            return self
        # The same state the expiry entry would leave, at this head's seq; unknown totals stay so.
        totals = None if self.totals is None else lapsed.totals_after
        return replace(lapsed.head, seq=self.seq, totals=totals)


@dataclass(frozen=True, slots=True)
class Posting:
    """A requested balance change, before it is numbered and checked against the head.

    ``amount`` changes the balance; ``held_delta`` changes the reserved part of it (holds).
    ``allow_negative`` is the one documented overdraft: a clawback (refund of spent credits) may
    take the balance below zero rather than lose track of money owed.

    Which grants move (``shared.grants``): credits coming in go to the grant of ``grant`` (by
    default paid for a purchase, promotional otherwise); credits going out are drawn in
    consumption order, from the grants the effect ``takes_first`` credited before any other
    (a refund takes back its order's own grants first); ``returns`` names an effect whose draws
    this posting puts back, the last credits first (a void, a hold's release).
    """

    type: EntryType
    amount: int
    held_delta: int = 0
    description: str = ""
    service: str | None = None
    actor: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    allow_negative: bool = False
    grant: GrantTerms | None = None
    takes_first: str | None = None
    returns: str | None = None


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
    draws: tuple[Draw, ...] = ()  # credits this entry moved per grant (+ added, - taken)
    grants_after: tuple[Grant, ...] | None = None  # None only on entries from before grants

    @property
    def id(self) -> str:
        return entry_id(self.user_id, self.seq)

    @property
    def head(self) -> AccountHead:
        return AccountHead(
            self.user_id,
            self.seq,
            self.balance_after,
            self.held_after,
            self.totals_after,
            self.grants_after,
        )


def add_to_totals(totals: Totals, entry_type: EntryType, amount: int) -> dict[EntryType, int]:
    """Return ``totals`` with ``amount`` added to ``entry_type``'s sum."""
    return {**totals, entry_type: totals.get(entry_type, 0) + amount}


def same_totals(a: Totals, b: Totals) -> bool:
    """Compare totals, a missing type counting as zero (holds move no balance)."""
    return {t: n for t, n in a.items() if n} == {t: n for t, n in b.items() if n}


def post(
    head: AccountHead,
    postings: Sequence[Posting],
    now: datetime,
    effect_key: str | None = None,
    related: Mapping[str, Sequence[LedgerEntry]] | None = None,
) -> list[LedgerEntry]:
    """Number and apply ``postings`` after ``head``, or raise if the account cannot afford them.

    A posting that lowers the available balance below zero, or takes the balance below zero,
    raises ``InsufficientCredits`` unless it is an explicit overdraft; nothing is applied in that
    case (all postings or none). ``related`` holds the entries of the effects the postings name
    (``takes_first``, ``returns``). ``head`` must hold no expired grant (see ``expiry_entry``);
    credits returned to a grant that has expired meanwhile expire in a last entry of the effect.
    """
    if not postings:
        raise ValueError("post needs at least one posting")
    if head.totals is None:
        raise ValueError("the head's totals are unknown; the store must sum the ledger first")
    entries: list[LedgerEntry] = []
    current = head
    returned_expired = 0  # credits put back into grants that had expired: they expire below
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
        grants, draws, lapsing = _move_grants(current, posting, balance - held, now, related or {})
        returned_expired += lapsing
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
            draws=tuple(draws),
            grants_after=tuple(grants),
        )
        entries.append(entry)
        current = entry.head
    lapsed = expiry_entry(current, now, effect_key, at_least=returned_expired)
    return entries + ([lapsed] if lapsed else [])


def _move_grants(
    current: AccountHead,
    posting: Posting,
    available_after: int,
    now: datetime,
    related: Mapping[str, Sequence[LedgerEntry]],
) -> tuple[list[Grant], list[Draw], int]:
    """Move credits between grants for one posting; the grants end holding max(0, available).

    Also returns how many credits went back to grants that have expired: all of them expire in
    the effect's last entry, including any that paid an overdraft here (that only happens when
    no live grant could pay it), so expired credits never pay a debt.
    """
    grants = list(current.open_grants())
    change = available_after - current.available
    moved: list[Draw] = []
    lapsing = 0
    if change > 0 and posting.returns:
        drawn = [
            d
            for e in related.get(posting.returns, ())
            if e.type is not EntryType.EXPIRY
            for d in e.draws
        ]
        # Entries from before grants drew nothing on record: their credits come back as new.
        back = last_credits(drawn, min(change, -draws_total(d for d in drawn if d[1] < 0)))
        grants, moved = restore(grants, back, now)
        change -= draws_total(moved)
        lapsing = sum(n for grant_id, n in moved if GrantTerms.from_id(grant_id).expired_by(now))
    if change > 0:
        terms = posting.grant or (PAID if posting.type in PAID_TYPES else PROMOTIONAL)
        grants, added = add(grants, terms, change, now)
        moved += added
    elif change < 0:
        first = [
            grant_id
            for e in related.get(posting.takes_first or "", ())
            for grant_id, n in e.draws
            if n > 0
        ]
        grants, taken, _overdraft = draw(grants, -change, first)
        moved += taken
    # Credits owed (an overdraft) are paid off by whatever comes in next.
    owed = total(grants) - max(0, available_after)
    if owed > 0:
        live = [g.id for g in in_consumption_order(grants) if not g.expired(now)]
        grants, paid_off, _ = draw(grants, owed, first=live)
        moved += paid_off
    return grants, moved, lapsing


# Credits of these types are paid for; any other credit coming in is promotional by default.
PAID_TYPES = frozenset({EntryType.PURCHASE, EntryType.HOLD_RELEASE, EntryType.VOID})


def expiry_entry(
    head: AccountHead, now: datetime, effect_key: str | None, at_least: int = 0
) -> LedgerEntry | None:
    """The ``expiry`` entry that takes the grants expired by ``now`` off ``head``, if any.

    ``at_least``: credits just returned to expired grants, which all expire, even those that
    paid an overdraft on the way back (the balance then stays as owed as it was).
    """
    kept, gone = expire(head.open_grants(), now)
    lapsed = min(draws_total(gone), -at_least)
    if not lapsed:
        return None
    return LedgerEntry(
        user_id=head.user_id,
        seq=head.seq + 1,
        type=EntryType.EXPIRY,
        amount=lapsed,
        balance_after=head.balance + lapsed,
        held_after=head.held,
        created_at=now,
        effect_key=effect_key,
        description="credits expired",
        actor="ledger",
        totals_after=add_to_totals(head.totals or {}, EntryType.EXPIRY, lapsed),
        draws=tuple(gone),
        grants_after=tuple(kept),
    )


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
        problems += _grant_violations(previous, entry)
        previous = entry
    return problems


def _grant_violations(previous: LedgerEntry | None, entry: LedgerEntry) -> list[str]:
    """Grants hold exactly the available credits, draws explain every change of them, and no
    credit is drawn from a grant that had expired."""
    if entry.grants_after is None:
        return []  # written before grants
    problems = []
    held_by_grants = total(entry.grants_after)
    if held_by_grants != max(0, entry.balance_after - entry.held_after):
        problems.append(f"{entry.id}: open grants {held_by_grants} != available credits")
    before = None
    if previous is None:
        before = 0
    elif previous.grants_after is not None:
        before = total(previous.grants_after)
    if before is not None and draws_total(entry.draws) != held_by_grants - before:
        problems.append(f"{entry.id}: draws {draws_total(entry.draws)} do not explain the grants")
    if entry.type is not EntryType.EXPIRY:
        # Net per grant: credits returned to an expired grant may pay an overdraft in the same
        # entry (what is left of them expires next); nothing else leaves an expired grant.
        net: dict[str, int] = {}
        for grant_id, moved in entry.draws:
            net[grant_id] = net.get(grant_id, 0) + moved
        for grant_id, moved in net.items():
            expires_at = GrantTerms.from_id(grant_id).expires_at
            if moved < 0 and expires_at is not None and expires_at <= entry.created_at:
                problems.append(f"{entry.id}: drew {-moved} from expired grant {grant_id}")
    return problems


# Only a clawback of refunded purchases may leave the balance below zero (see Posting), and the
# expiry of credits returned to expired grants, which leaves such an overdraft as it was.
OVERDRAFT_TYPES = frozenset({EntryType.REFUND, EntryType.ADJUSTMENT, EntryType.EXPIRY})


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
    # Grants expired by now leave first, in the same commit: nothing below can spend them.
    lapsed = expiry_entry(head, now, None)
    current = lapsed.head if lapsed else head
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
            entries = post(current, request.postings, now, key, {**replays, **applied})
        except InsufficientCredits as error:
            outcomes.append(EffectOutcome(error=error))
            continue
        if key:
            applied[key] = entries
        result = AppendResult(entries)
        fresh.append(result)
        outcomes.append(EffectOutcome(result))
        current = result.head
    if lapsed and (fresh or not requests):  # no requests at all: a sweep writes the expiry
        fresh.insert(0, AppendResult([lapsed]))
    return outcomes, fresh


def related_keys(requests: Sequence[EffectRequest]) -> list[str]:
    """The effects the requests' postings name, to be read with the head."""
    keys = {
        key
        for request in requests
        for posting in request.postings
        for key in (posting.takes_first, posting.returns)
        if key
    }
    return sorted(keys)


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
    def effect(self, effect_key: str) -> list[LedgerEntry] | None:
        """Return the entries of an applied effect, or None if it was never applied."""

    def expire_grants(self, user_id: str) -> None:
        """Write the expiry of the account's expired grants, if any (the expiry job)."""
        self.append_batch(user_id, [])

    @abstractmethod
    def accounts_due_to_expire(self, now: datetime, limit: int) -> list[str]:
        """Return accounts holding a grant whose expiry is at or before ``now``."""

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


def expire_due_grants(
    ledger: LedgerStore, now: datetime, limit: int = 100, max_pages: int = 10
) -> int:
    """Write the expiry entries of accounts holding grants expired by ``now``; return how many.

    Reads never count an expired credit anyway (``AccountHead.as_of``); the entry brings the
    balance projection, the lifetime totals and the low-balance alert up to date. Pages of
    ``limit`` accounts, up to ``max_pages`` a run, so a campaign expiring for many accounts at
    once is written off in one run, not one page every five minutes.
    """
    written = 0
    failed: set[str] = set()
    for _ in range(max_pages):
        due = [
            u for u in ledger.accounts_due_to_expire(now, limit + len(failed)) if u not in failed
        ]
        for user_id in due[:limit]:
            try:
                ledger.expire_grants(user_id)
            except BillingError:
                failed.add(user_id)  # busy or unreachable: the next run tries it again
                continue
            written += 1
        if len(due) < limit:
            break
    return written


class SideWrite:
    """A change of another record that rides in the same commit as ledger entries.

    Each domain module defines its own (an order paid, a hold placed or settled) in its own
    terms; the store maps them to where and how it keeps them. It carries no precondition (the
    commit's only one guards the ledger entry).
    """

    __slots__ = ()
