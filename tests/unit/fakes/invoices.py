"""In-memory tax documents and billing details: numbered 1, 2, 3 per series and year, once per
source (the race for a number is proven on the emulator, test_invoice_numbering.py)."""

from __future__ import annotations

from shared.invoices.billing import BillingDetails, BillingDetailsStore
from shared.invoices.documents import TaxDocument
from shared.invoices.issuing import DocumentPage, TaxDocumentStore


class MemoryDocuments(TaxDocumentStore):
    def __init__(self) -> None:
        self.documents: list[TaxDocument] = []

    def issue(self, draft: TaxDocument) -> TaxDocument:
        found = self.for_source(draft.source_key)
        if found is not None:
            return found
        series = (draft.series, draft.financial_year)
        same = [d for d in self.documents if (d.series, d.financial_year) == series]
        document = draft.numbered(len(same) + 1)
        self.documents.append(document)
        return document

    def get(self, document_id: str) -> TaxDocument | None:
        return next((d for d in self.documents if d.id == document_id), None)

    def for_source(self, source_key: str) -> TaxDocument | None:
        return next((d for d in self.documents if d.source_key == source_key), None)

    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> DocumentPage:
        return DocumentPage([d for d in self.documents if d.user_id == user_id][::-1], None)


class MemoryBilling(BillingDetailsStore):
    def __init__(self) -> None:
        self.saved: dict[str, BillingDetails] = {}

    def get(self, user_id: str) -> BillingDetails | None:
        return self.saved.get(user_id)

    def save(self, user_id: str, details: BillingDetails) -> None:
        self.saved[user_id] = details
