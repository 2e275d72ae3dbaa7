"""Audit the ledger of a Firestore database: ``make audit`` or ``python -m ops.audit``.

Checks every account against the invariants of docs/ledger.md: seq contiguous from 1, each
balance_after = previous + amount, no balance below zero outside the documented overdraft types,
held never negative, each external effect applied at most once (its entries form one commit), and
the head pointer never ahead of the ledger; and the tax documents: every paid order has exactly one
invoice, every money-returning refund exactly one credit note, and each series is numbered 1 to n
with no gap and no duplicate (``shared.invoices.invariants``). Prints what is wrong; exits 1 if
anything is.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shared.adapters.firestore_invoices import TAX_DOCUMENTS, tax_document_from_document
from shared.adapters.firestore_ledger_codec import (
    LEGACY_HEADS,
    TRANSACTIONS,
    USER_CREDITS,
    entry_from_document,
    is_head_pointer,
)
from shared.adapters.firestore_orders import ORDERS, order_from_document
from shared.invoices.invariants import document_violations
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
    orders = [
        order_from_document(s.id, s.to_dict() or {}) for s in client.collection(ORDERS).stream()
    ]
    documents = [
        tax_document_from_document(s.to_dict() or {})
        for s in client.collection(TAX_DOCUMENTS).stream()
    ]
    problems += document_violations(orders, documents)
    return len(accounts), problems


STACK_NOT_RUNNING = 2  # exit status; 1 means the audit found problems


def emulator_missing() -> str | None:
    """Where FIRESTORE_EMULATOR_HOST points if nothing listens there, else None.

    The Firestore client retries an unreachable emulator for ever, silently; `make audit` before
    `make dev` would hang. The variable is the SDK's own, read here only to look before calling.
    """
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        return None  # a real Firestore project: the SDK's credentials and retries apply
    name, _, port = host.rpartition(":")
    name = name.strip("[]")  # an IPv6 address is written [::1]:8080
    try:
        socket.create_connection((name or "127.0.0.1", int(port)), timeout=2).close()
    except (OSError, ValueError):
        return host
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", help="Firestore project (default: FIREBASE_PROJECT_ID)")
    args = parser.parse_args(argv)
    missing = emulator_missing()
    if missing:
        print(
            f"the local stack is not running (no Firestore emulator at {missing}): "
            "start it with `make dev` in another terminal",
            file=sys.stderr,
        )
        return STACK_NOT_RUNNING
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
