"""Ledger entries and the account head they leave: the records of the credit ledger.

Each account's entries carry ``seq`` 1, 2, 3, ... with no gaps. The entry with the highest ``seq``
(the head) holds the authoritative ``balance_after`` and ``held_after``. Entry ids are derived from
(user_id, seq), so an account's next entry has exactly one possible id: concurrent writers race to
create it and exactly one wins (see ``shared.adapters.firestore_ledger``). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from shared.ids import require_document_id
from shared.ledger.grants import (
    PAID,
    Draw,
    Grant,
    GrantTerms,
    draws_total,
    expire,
)

SEQ_DIGITS = 10


class EntryType(StrEnum):
    PURCHASE = "purchase"
    BONUS = "bonus"
    USAGE = "usage"
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"  # a failed refund's clawback given back
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

    ``grants`` are the open grants (``shared.ledger.grants``); together they hold the available
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

    Which grants move (``shared.ledger.grants``): credits coming in go to the grant of ``grant`` (by
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
