"""Posting: number requested balance changes after the head and move credits between grants.

Pure: it decides what the next entries are; storing them is the store's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.errors import InsufficientCredits
from shared.ledger.entries import (
    AccountHead,
    EntryType,
    LedgerEntry,
    Posting,
    add_to_totals,
    expiry_entry,
)
from shared.ledger.grants import (
    PAID,
    PROMOTIONAL,
    Draw,
    Grant,
    GrantTerms,
    add,
    draw,
    draws_total,
    in_consumption_order,
    last_credits,
    restore,
    total,
)


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
    the effect's last entry. Returned credits pay a debt before they go back to any grant, so
    expired credits never pay one.
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
        lapsing = sum(n for grant_id, n in moved if GrantTerms.from_id(grant_id).expired_by(now))
        # What comes back beyond the credits the effect drew cancels the debt it ran up (a
        # clawback that overdrew): it is no new grant that would pay that debt in place of the
        # credits just restored, so restored credits keep their expiry. Only what the grants
        # still lack comes in as new credits; debt left over is paid off below.
        change = max(0, max(0, available_after) - total(grants))
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
