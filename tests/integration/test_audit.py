"""The ledger audit finds nothing in a sound ledger and names each kind of damage."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ops.audit import audit
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_to_document
from shared.ledger.entries import EntryType, Posting

pytestmark = pytest.mark.stack


def test_a_sound_ledger_passes(firestore_client: Any) -> None:
    ledger = FirestoreLedger(firestore_client)
    ledger.append("alice", [Posting(EntryType.GRANT, 100)], effect_key="g1")
    ledger.append("alice", [Posting(EntryType.PURCHASE, 50), Posting(EntryType.BONUS, 5)], "o1")
    ledger.append("bob", [Posting(EntryType.GRANT, 7)])
    assert audit(firestore_client) == (2, [])


def test_damage_is_reported(firestore_client: Any) -> None:
    ledger = FirestoreLedger(firestore_client)
    first = ledger.append("alice", [Posting(EntryType.GRANT, 100)], effect_key="twice").entries[0]
    ledger.append("alice", [Posting(EntryType.USAGE, -10)])
    transactions = firestore_client.collection(TRANSACTIONS)
    # The same effect applied again later, with a wrong balance, skipping a seq.
    forged = replace(first, seq=4, balance_after=500)
    transactions.document(forged.id).set(entry_to_document(forged))

    checked, problems = audit(firestore_client)
    assert checked == 1
    text = "\n".join(problems)
    assert "seq 4 where 3 was expected" in text
    assert "balance_after 500" in text
    assert "effect 'twice' applied more than once" in text
