"""Invoices and credit notes on Firestore (``tax_documents/{number with - for /}``).

Numbering follows the concurrency rule of the ledger (design.md): the commit that records a
document is one *create* of the document whose id is its number, so it carries the only
precondition there is, and a number can never be taken twice nor by a document that does not
exist. The issuer reads the series' last number by query, then whether the draft's source (its
order, its refund) got a document meanwhile: a writer that loses the race for a number re-reads
both, so a source gets one document however many paths issue it at once. A one-write commit is
atomic on any store, even one that applies a commit's writes one by one.

No counter document: the series' head is a query (``series``, ``financial_year``, ``seq``
descending), so no document is written more than once and production's one write per second per
document does not bound issuing. What does is the race: every issuer of a series contends for the
same next number, one commit wins per round trip (about 20-50 ms on production: some 20 numbers a
second per series at full contention; measured on the emulator in
tests/integration/test_invoice_numbering.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.errors import Unavailable, invalid_field
from shared.invoices.billing import BillingDetails, BillingDetailsStore
from shared.invoices.documents import DocumentKind, Line, Party, TaxDocument
from shared.invoices.issuing import DocumentPage, TaxDocumentStore
from shared.invoices.tax import Supply, TaxAmounts

if TYPE_CHECKING:
    from google.cloud import firestore

TAX_DOCUMENTS = "tax_documents"
BILLING_DETAILS = "billing_details"
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.2


def party_to_document(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "address": party.address,
        "state": party.state,
        "country": party.country,
        "gstin": party.gstin,
    }


def party_from_document(data: dict[str, Any]) -> Party:
    return Party(data["name"], data["address"], data.get("state"), data["country"], data["gstin"])


def tax_document_to_document(doc: TaxDocument) -> dict[str, Any]:
    amounts = doc.amounts
    return {
        "kind": doc.kind.value,
        "number": doc.number,
        "series": doc.series,
        "financial_year": doc.financial_year,
        "seq": doc.seq,
        "user_id": doc.user_id,
        "order_id": doc.order_id,
        "source_key": doc.source_key,
        "issued_at": doc.issued_at,
        "seller": party_to_document(doc.seller),
        "buyer": party_to_document(doc.buyer),
        "supply": doc.supply.value,
        "sac": doc.sac,
        "currency": doc.currency,
        "lines": [
            {"description": x.description, "quantity": x.quantity, "taxable_value": x.taxable_value}
            for x in doc.lines
        ],
        "taxable_value": amounts.taxable_value,
        "cgst": amounts.cgst,
        "sgst": amounts.sgst,
        "igst": amounts.igst,
        "provider": doc.provider,
        "provider_payment_id": doc.provider_payment_id,
        "refund_id": doc.refund_id,
        "invoice_id": doc.invoice_id,
        "invoice_number": doc.invoice_number,
        "inr_value": doc.inr_value,
        "fx_rate": doc.fx_rate,
        "lut_reference": doc.lut_reference,
    }


def tax_document_from_document(data: dict[str, Any]) -> TaxDocument:
    return TaxDocument(
        kind=DocumentKind(data["kind"]),
        series=data["series"],
        financial_year=data["financial_year"],
        seq=int(data["seq"]),
        user_id=data["user_id"],
        order_id=data["order_id"],
        source_key=data["source_key"],
        issued_at=data["issued_at"],
        seller=party_from_document(data["seller"]),
        buyer=party_from_document(data["buyer"]),
        supply=Supply(data["supply"]),
        sac=data["sac"],
        currency=data["currency"],
        lines=tuple(
            Line(x["description"], int(x["quantity"]), int(x["taxable_value"]))
            for x in data["lines"]
        ),
        amounts=TaxAmounts(
            int(data["taxable_value"]),
            cgst=int(data["cgst"]),
            sgst=int(data["sgst"]),
            igst=int(data["igst"]),
        ),
        provider=data["provider"],
        provider_payment_id=data["provider_payment_id"],
        refund_id=data.get("refund_id"),
        invoice_id=data.get("invoice_id"),
        invoice_number=data.get("invoice_number"),
        inr_value=data.get("inr_value"),
        fx_rate=data.get("fx_rate"),
        lut_reference=data.get("lut_reference") or "",
    )


class FirestoreTaxDocuments(FirestoreStore, TaxDocumentStore):
    """``TaxDocumentStore`` on Firestore: numbered by the create of the numbered document."""

    def __init__(
        self,
        client: firestore.Client,
        timeout_seconds: float = 10.0,
        max_attempts: int = 100,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(client, timeout_seconds)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.conflicts = 0  # races lost since construction; read by the numbering test
        self._series_lock = threading.Lock()

    def issue(self, draft: TaxDocument) -> TaxDocument:
        # Issuers in this instance queue instead of racing each other (the race rule is what
        # keeps instances correct against each other; the lock saves the lost round trips).
        with self._series_lock:
            return self._issue(draft)

    def _issue(self, draft: TaxDocument) -> TaxDocument:
        for attempt in range(self._max_attempts):
            # The head first, then the source: a document for the source committed after this
            # read takes a number we would race for, so our create fails and we read again.
            last = self._last_seq(draft.series, draft.financial_year)
            existing = self.for_source(draft.source_key)
            if existing is not None:
                return existing
            document = draft.numbered(last + 1)
            reference = self._db.collection(TAX_DOCUMENTS).document(document.id)
            try:
                reference.create(tax_document_to_document(document), **self._rpc)
            except race_lost():
                self.conflicts += 1
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
                self._sleep(random.uniform(0, ceiling))  # noqa: S311 (jitter, not secrecy)
                continue
            return document
        raise Unavailable(
            "invoice numbering is busy; retry the request",
            {"series": draft.series, "retryable": True},
        )

    def _last_seq(self, series: str, year: str) -> int:
        query = (
            self._db.collection(TAX_DOCUMENTS)
            .where(filter=field_filter("series", "==", series))
            .where(filter=field_filter("financial_year", "==", year))
            .order_by("seq", direction="DESCENDING")
            .limit(1)
        )
        docs = list(query.stream(**self._rpc))
        return int((docs[0].to_dict() or {})["seq"]) if docs else 0

    def get(self, document_id: str) -> TaxDocument | None:
        snapshot = self._db.collection(TAX_DOCUMENTS).document(document_id).get(**self._rpc)
        return tax_document_from_document(snapshot.to_dict() or {}) if snapshot.exists else None

    def for_source(self, source_key: str) -> TaxDocument | None:
        query = (
            self._db.collection(TAX_DOCUMENTS)
            .where(filter=field_filter("source_key", "==", source_key))
            .limit(1)
        )
        docs = list(query.stream(**self._rpc))
        return tax_document_from_document(docs[0].to_dict() or {}) if docs else None

    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> DocumentPage:
        query = self._db.collection(TAX_DOCUMENTS).where(
            filter=field_filter("user_id", "==", user_id)
        )
        query = query.order_by("issued_at", direction="DESCENDING").order_by(
            "number", direction="DESCENDING"
        )
        if cursor is not None:
            query = query.start_after(_cursor_values(cursor))
        docs = list(query.limit(limit + 1).stream(**self._rpc))
        found = [tax_document_from_document(d.to_dict() or {}) for d in docs[:limit]]
        last = found[-1] if found and len(docs) > limit else None
        next_cursor = f"{last.issued_at.isoformat()}|{last.number}" if last else None
        return DocumentPage(found, next_cursor)

    def all_documents(self) -> list[TaxDocument]:
        """Every document (the ledger audit)."""
        stream = self._db.collection(TAX_DOCUMENTS).stream(**self._rpc)
        return [tax_document_from_document(d.to_dict() or {}) for d in stream]


def _cursor_values(cursor: str) -> dict[str, Any]:
    issued_at, _, number = cursor.partition("|")
    try:
        return {"issued_at": datetime.fromisoformat(issued_at), "number": number}
    except ValueError as exc:
        raise invalid_field("cursor", "not a cursor this service issued") from exc


class FirestoreBillingDetails(FirestoreStore, BillingDetailsStore):
    """``billing_details/{user_id}``: the account's current billing details."""

    def get(self, user_id: str) -> BillingDetails | None:
        snapshot = self._db.collection(BILLING_DETAILS).document(user_id).get(**self._rpc)
        if not snapshot.exists:
            return None
        data = snapshot.to_dict() or {}
        return BillingDetails(party_from_document(data), data["updated_at"])

    def save(self, user_id: str, details: BillingDetails) -> None:
        data = party_to_document(details.party) | {"updated_at": details.updated_at}
        self._db.collection(BILLING_DETAILS).document(user_id).set(data, **self._rpc)
