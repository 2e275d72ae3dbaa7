"""The ledger's invariants, checked over one account's entries (tests and ``make audit``)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.ledger.entries import EntryType, LedgerEntry, Totals, add_to_totals, same_totals
from shared.ledger.grants import (
    GrantTerms,
    draws_total,
    total,
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
