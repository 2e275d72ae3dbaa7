"""Issuing tax invoices and credit notes, each once, numbered without gaps or duplicates.

The store numbers a document in the commit that records it: the document's id is its number, and
the commit creates it (must-not-exist), so two issuers racing for a number cannot both win, and a
number is taken only by a document that exists. The loser re-reads the series' last number and
whether its order or refund got a document meanwhile, and tries the next number.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.errors import NotFound
from shared.invoices.billing import BillingDetailsStore
from shared.invoices.documents import (
    Party,
    Seller,
    TaxDocument,
    credit_note_draft,
    invoice_draft,
    invoice_key,
)
from shared.log import get_logger
from shared.purchases.orders import CreditOrder
from shared.purchases.tax_documents import TaxDocuments

log = get_logger("invoices")

# A buyer who saved no details: an unregistered buyer in the seller's state (tax.py).
UNNAMED_BUYER = Party("Customer", "")


@dataclass(frozen=True, slots=True)
class DocumentPage:
    documents: list[TaxDocument]
    next_cursor: str | None


class TaxDocumentStore(ABC):
    """Port: where invoices and credit notes are kept."""

    @abstractmethod
    def issue(self, draft: TaxDocument) -> TaxDocument:
        """Record ``draft`` under the next number of its series and year, once per source key.

        Returns the document recorded for the draft's source key (this one, or an earlier one).
        """

    @abstractmethod
    def get(self, document_id: str) -> TaxDocument | None: ...

    @abstractmethod
    def for_source(self, source_key: str) -> TaxDocument | None: ...

    @abstractmethod
    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> DocumentPage:
        """The user's documents, newest first."""


@dataclass(frozen=True, slots=True)
class InvoiceIssuer(TaxDocuments):
    """Issues the documents purchases says are due (``shared.purchases.tax_documents``)."""

    documents: TaxDocumentStore
    billing: BillingDetailsStore
    seller: Seller
    fx_rates: Mapping[str, Decimal]
    clock: Callable[[], datetime]

    def order_paid(self, order: CreditOrder, provider_payment_id: str, paid_at: datetime) -> None:
        if self.documents.for_source(invoice_key(order.id)) is not None:
            return
        details = self.billing.get(order.user_id)
        draft = invoice_draft(
            order,
            self.seller,
            details.party if details else UNNAMED_BUYER,
            provider_payment_id=provider_payment_id,
            issued_at=paid_at,
            fx_rate=self.fx_rates.get(order.currency),
        )
        issued = self.documents.issue(draft)
        log.info("invoice issued", extra={"order_id": order.id, "number": issued.number})

    def refund_recorded(
        self, order: CreditOrder, refund_id: str, amount: int, refunded_before: int
    ) -> None:
        if amount <= 0:
            return
        invoice = self.documents.for_source(invoice_key(order.id))
        if invoice is None:  # paid before invoices were issued: issue it first
            self.order_paid(order, order.provider_payment_id or "", order.paid_at or self.clock())
            invoice = self.documents.for_source(invoice_key(order.id))
        if invoice is None:
            raise AssertionError("the order's invoice was just issued")
        draft = credit_note_draft(
            invoice,
            self.seller,
            refund_id=refund_id,
            refund_amount=amount,
            refunded_before=refunded_before,
            issued_at=self.clock(),
        )
        issued = self.documents.issue(draft)
        log.info("credit note issued", extra={"order_id": order.id, "number": issued.number})


def readable_invoice(
    documents: TaxDocumentStore, document_id: str, user_id: str, admin: bool = False
) -> TaxDocument:
    """The caller's document (any, for an admin), or 404: also for another user's."""
    document = documents.get(document_id) if document_id else None
    if document is None or (document.user_id != user_id and not admin):
        raise NotFound("no such invoice")
    return document
