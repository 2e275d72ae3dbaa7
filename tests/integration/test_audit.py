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


def test_the_audit_checks_each_paid_order_and_refund_has_one_document_and_series_have_no_gaps(
    firestore_client: Any,
) -> None:
    from datetime import UTC, datetime

    from shared.adapters.firestore_invoices import (
        TAX_DOCUMENTS,
        FirestoreBillingDetails,
        FirestoreTaxDocuments,
    )
    from shared.adapters.firestore_orders import FirestoreOrders
    from shared.invoices.documents import Party, Seller
    from shared.invoices.issuing import InvoiceIssuer
    from shared.purchases.crediting import claw_back_refund, grant_purchase_credits
    from shared.purchases.orders import CreditOrder
    from shared.purchases.pricing import quote_purchase

    now = datetime(2026, 6, 1, tzinfo=UTC)
    seller = Seller(Party("S", "A", "29", "IN", "29AAACA1234A1ZG"), "998439", "INV", "CN")
    issuer = InvoiceIssuer(
        FirestoreTaxDocuments(firestore_client),
        FirestoreBillingDetails(firestore_client),
        seller,
        {},
        lambda: now,
    )
    ledger, orders = FirestoreLedger(firestore_client), FirestoreOrders(firestore_client)
    paid = []
    for n in range(3):
        order = CreditOrder.from_quote(
            f"ord_{n}", f"buyer{n}", quote_purchase(100_00), provider="razorpay",
            provider_order_id=f"o{n}", created_at=now,
        )  # fmt: skip
        orders.create(order)
        grant_purchase_credits(ledger, order, "razorpay", f"p{n}", now=now, documents=issuer)
        stored = orders.get(order.id)
        assert stored is not None
        paid.append(stored)
    claw_back_refund(
        ledger, orders, paid[0], refund_id="r1", refund_amount=1_00, refunded_before=0,
        provider="razorpay", now=now, documents=issuer,
    )  # fmt: skip
    assert audit(firestore_client) == (3, [])

    # A refund recorded without its note, and an invoice lost from the middle of the series.
    claw_back_refund(
        ledger, orders, paid[1], refund_id="r2", refund_amount=1_00, refunded_before=0,
        provider="razorpay", now=now,
    )  # fmt: skip
    firestore_client.collection(TAX_DOCUMENTS).document("INV-2026-27-000002").delete()
    problems = "\n".join(audit(firestore_client)[1])
    assert "ord_1: 0 documents for 'invoice:ord_1', not 1" in problems
    assert "ord_1: 0 documents for 'credit_note:ord_1:r2', not 1" in problems
    assert "series INV/2026-27: missing [2], repeated []" in problems
