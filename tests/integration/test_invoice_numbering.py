"""Invoice numbering on the Firestore emulator: concurrent purchases, each invoiced once, numbered
without gaps or duplicates, through the one grant path."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.firestore_invoices import FirestoreBillingDetails, FirestoreTaxDocuments
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_orders import FirestoreOrders
from shared.invoices.billing import BillingDetails
from shared.invoices.documents import DocumentKind, Party, Seller
from shared.invoices.issuing import InvoiceIssuer
from shared.invoices.tax import Supply
from shared.purchases.crediting import claw_back_refund, grant_purchase_credits
from shared.purchases.orders import CreditOrder
from shared.purchases.pricing import quote_purchase

pytestmark = pytest.mark.stack

PAID_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)
SELLER = Seller(
    Party("Seller Pvt Ltd", "Bengaluru", "29", "IN", "29AAACA1234A1ZG"), "998439", "INV", "CN"
)


@pytest.fixture
def parts(firestore_client: Any) -> tuple[FirestoreLedger, FirestoreOrders, InvoiceIssuer]:
    documents = FirestoreTaxDocuments(firestore_client)
    issuer = InvoiceIssuer(
        documents, FirestoreBillingDetails(firestore_client), SELLER, {}, lambda: PAID_AT
    )
    return FirestoreLedger(firestore_client), FirestoreOrders(firestore_client), issuer


def new_order(orders: FirestoreOrders, user_id: str, amount: int = 1000_00) -> CreditOrder:
    order = CreditOrder.from_quote(
        f"ord_{uuid.uuid4().hex}",
        user_id,
        quote_purchase(amount),
        provider="razorpay",
        provider_order_id=f"order_{uuid.uuid4().hex[:14]}",
        created_at=PAID_AT,
    )
    orders.create(order)
    return order


def test_fifty_concurrent_purchases_get_fifty_invoices_numbered_without_gaps(
    parts: tuple[FirestoreLedger, FirestoreOrders, InvoiceIssuer], firestore_client: Any
) -> None:
    ledger, orders, issuer = parts
    paid = [new_order(orders, f"buyer-{n}") for n in range(50)]
    # Five function instances, each with its own store: they race for numbers (inside one
    # instance issuers queue on a lock).
    stores = [FirestoreTaxDocuments(firestore_client) for _ in range(5)]
    issuers = [replace(issuer, documents=store) for store in stores]

    def pay(n: int) -> None:
        order, by = paid[n], issuers[n % len(issuers)]
        grant_purchase_credits(ledger, order, "razorpay", "pay", now=PAID_AT, documents=by)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(pay, range(50)))
    elapsed = time.monotonic() - started
    invoices = stores[0].all_documents()
    assert sorted(d.seq for d in invoices) == list(range(1, 51))
    assert sorted(d.order_id for d in invoices) == sorted(o.id for o in paid)
    assert {d.number for d in invoices} == {f"INV/2026-27/{n:06d}" for n in range(1, 51)}
    lost = sum(store.conflicts for store in stores)
    print(f"50 invoices in {elapsed:.2f} s, {lost} lost races")


def test_every_path_paying_one_order_at_once_issues_one_invoice(
    parts: tuple[FirestoreLedger, FirestoreOrders, InvoiceIssuer], firestore_client: Any
) -> None:
    ledger, orders, issuer = parts
    order = new_order(orders, "alice")
    issuers = [replace(issuer, documents=FirestoreTaxDocuments(firestore_client)) for _ in range(8)]

    def pay(n: int) -> None:
        by = issuers[n]  # verify, webhook, reconciliation... each in its own instance
        grant_purchase_credits(ledger, order, "razorpay", "pay", now=PAID_AT, documents=by)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(pay, range(8)))
    store = issuer.documents
    assert isinstance(store, FirestoreTaxDocuments)
    assert [(d.kind, d.seq) for d in store.all_documents()] == [(DocumentKind.INVOICE, 1)]


def test_a_refund_gets_one_credit_note_reversing_the_tax_in_the_invoices_split(
    parts: tuple[FirestoreLedger, FirestoreOrders, InvoiceIssuer],
) -> None:
    ledger, orders, issuer = parts
    issuer.billing.save(
        "bob", BillingDetails(Party("Bob Ltd", "Pune", "27", "IN", "27AAPFU0939F1ZV"), PAID_AT)
    )
    order = new_order(orders, "bob")
    grant_purchase_credits(ledger, order, "razorpay", "pay", now=PAID_AT, documents=issuer)
    paid = orders.get(order.id)
    assert paid is not None
    for _ in range(2):  # a repeated refund event
        claw_back_refund(
            ledger, orders, paid, refund_id="rfnd_1", refund_amount=590_00, refunded_before=0,
            provider="razorpay", now=PAID_AT, documents=issuer,
        )  # fmt: skip
    page = issuer.documents.list_for_user("bob", 10, None)
    invoice, note = sorted(page.documents, key=lambda d: d.kind, reverse=True)
    assert invoice.supply is Supply.INTER_STATE and invoice.amounts.igst == 180_00
    assert (note.kind, note.number, note.invoice_number) == (
        DocumentKind.CREDIT_NOTE,
        "CN/2026-27/000001",
        invoice.number,
    )
    assert (note.amounts.taxable_value, note.amounts.igst, note.amounts.cgst) == (500_00, 90_00, 0)
