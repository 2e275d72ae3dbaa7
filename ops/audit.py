"""Audit the ledger of a Firestore database: ``make audit`` or ``python -m ops.audit``.

Checks every account against the invariants of design.md: seq contiguous from 1, each
balance_after = previous + amount, no balance below zero outside the documented overdraft types,
held never negative, each external effect applied at most once (its entries form one commit), and
the head pointer never ahead of the ledger. Prints what is wrong; exits 1 if anything is.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shared.adapters.firestore_ledger_codec import (
    LEGACY_HEADS,
    TRANSACTIONS,
    USER_CREDITS,
    entry_from_document,
    is_head_pointer,
)
from shared.ledger.entries import LedgerEntry
from shared.ledger.invariants import invariant_violations


def effect_violations(entries: Iterable[LedgerEntry]) -> list[str]:
    """An effect key must name one commit: consecutive seqs written at one instant."""
    by_effect: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        if entry.effect_key:
            by_effect[entry.effect_key].append(entry)
    problems = []
    for key, group in by_effect.items():
        seqs = sorted(e.seq for e in group)
        stamps = {e.created_at for e in group}
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))) or len(stamps) > 1:
            problems.append(f"{group[0].user_id}: effect {key!r} applied more than once {seqs}")
    return problems


def audit(client: Any) -> tuple[int, list[str]]:
    """Return (accounts checked, problems found) for the database behind ``client``."""
    accounts: dict[str, list[LedgerEntry]] = defaultdict(list)
    problems: list[str] = []
    for snapshot in client.collection(TRANSACTIONS).stream():
        entry = entry_from_document(snapshot.to_dict())
        accounts[entry.user_id].append(entry)
        if snapshot.id != entry.id:
            problems.append(f"{snapshot.id}: stored under the wrong id (expected {entry.id})")
    effects: list[LedgerEntry] = []
    for entries in accounts.values():
        problems += invariant_violations(entries)
        effects += entries
    problems += effect_violations(effects)
    pointers = [
        *client.collection(USER_CREDITS).stream(),
        *client.collection(LEGACY_HEADS).stream(),
    ]
    for snapshot in pointers:
        head = snapshot.to_dict() or {}
        if snapshot.reference.parent.id == USER_CREDITS and not is_head_pointer(head):
            continue  # settings only: no ledger commit wrote this account yet
        entries = accounts.get(snapshot.id, [])
        last = max((e.seq for e in entries), default=0)
        if head.get("seq", 0) > last:
            problems.append(f"{snapshot.id}: head pointer at {head['seq']} beyond ledger {last}")
    return len(accounts), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", help="Firestore project (default: FIREBASE_PROJECT_ID)")
    args = parser.parse_args(argv)
    from shared.adapters.firestore_client import build_firestore_client
    from shared.config import get_settings

    settings = get_settings()
    client = build_firestore_client(
        args.project or settings.firestore_project, settings.firestore_database
    )
    checked, problems = audit(client)
    for problem in problems:
        print(f"PROBLEM {problem}")
    print(f"audited {checked} accounts: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
