"""The issuer on in-memory stores: what it issues for an order and a refund, with whose details.

The numbering race is proven on the emulator (tests/integration/test_invoice_numbering.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.invoices.billing import BillingDetails
from shared.invoices.documents import DocumentKind, Party, Seller
from shared.invoices.issuing import InvoiceIssuer
from shared.invoices.tax import Supply
from shared.purchases.orders import CreditOrder
from shared.purchases.pricing import quote_purchase
from tests.unit.fakes import MemoryBilling, MemoryDocuments

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SELLER = Seller(Party("S", "A", "29", "IN", "29AAACA1234A1ZG"), "998439", "INV", "CN")


def issuer() -> InvoiceIssuer:
    return InvoiceIssuer(MemoryDocuments(), MemoryBilling(), SELLER, {}, lambda: NOW)


def paid_order(order_id: str = "ord_1") -> CreditOrder:
    order = CreditOrder.from_quote(
        order_id, "alice", quote_purchase(1000_00), provider="razorpay", provider_order_id="o",
        created_at=NOW,
    )  # fmt: skip
    return order


def test_a_buyer_without_details_is_an_unregistered_customer_in_the_sellers_state() -> None:
    issuing = issuer()
    issuing.order_paid(paid_order(), "pay", NOW)
    [invoice] = issuing.documents.list_for_user("alice", 10, None).documents
    assert (invoice.buyer.name, invoice.buyer.gstin, invoice.supply) == (
        "Customer", None, Supply.INTRA_STATE,
    )  # fmt: skip


def test_details_saved_before_payment_are_on_the_invoice() -> None:
    issuing = issuer()
    buyer = Party("Pune LLP", "Pune", "27", "IN", "27AAPFU0939F1ZV")
    issuing.billing.save("alice", BillingDetails(buyer, NOW))
    issuing.order_paid(paid_order(), "pay", NOW)
    issuing.order_paid(paid_order(), "pay", NOW)  # a replay
    [invoice] = issuing.documents.list_for_user("alice", 10, None).documents
    assert (invoice.buyer, invoice.supply, invoice.seq) == (buyer, Supply.INTER_STATE, 1)


def test_a_refund_of_an_order_paid_before_invoices_gets_the_invoice_then_its_note() -> None:
    issuing = issuer()
    issuing.refund_recorded(paid_order(), "rfnd_1", 118_00, 0)
    issuing.refund_recorded(paid_order(), "rfnd_1", 118_00, 0)  # a repeated event
    issuing.refund_recorded(paid_order(), "rfnd_0", 0, 0)  # returns no money: no note
    note, invoice = issuing.documents.list_for_user("alice", 10, None).documents
    assert (invoice.kind, note.kind) == (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)
    assert (note.invoice_id, note.amounts.total) == (invoice.id, 118_00)
