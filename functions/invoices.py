"""GST tax invoices and credit notes: the caller's list, one as JSON, one as PDF."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from functions.params import ListQuery
from shared.errors import Forbidden
from shared.ids import DOCUMENT_ID_PATTERN
from shared.invoices.documents import Party, TaxDocument
from shared.invoices.issuing import readable_invoice
from shared.invoices.tax import Supply
from shared.invoices.words import amount_in_words


class InvoicesQuery(ListQuery):
    user_id: StrictStr | None = Field(
        default=None, pattern=DOCUMENT_ID_PATTERN, description="Admins only: whose documents"
    )


class PartyJson(TypedDict):
    name: str
    address: str
    state: str | None
    state_name: str | None
    country: str
    gstin: str | None


class LineJson(TypedDict):
    description: str
    sac: str
    quantity: int
    taxable_value: int


class InvoiceJson(TypedDict):
    """A tax invoice or credit note; amounts in minor units of ``currency``."""

    invoice_id: str
    kind: Literal["invoice", "credit_note"]
    number: str
    date: date
    issued_at: datetime
    financial_year: str
    user_id: str
    order_id: str
    refund_id: str | None
    invoice_number: str | None
    seller: PartyJson
    buyer: PartyJson
    place_of_supply: str
    supply: Supply
    currency: str
    lines: list[LineJson]
    taxable_value: int
    cgst_rate: int
    cgst: int
    sgst_rate: int
    sgst: int
    igst_rate: int
    igst: int
    total: int
    total_in_words: str
    inr_value: int | None
    fx_rate: str | None
    lut_reference: str | None
    pdf_url: str


class InvoicePage(TypedDict):
    data: list[InvoiceJson]
    next_cursor: str | None


def party_json(party: Party) -> PartyJson:
    return {
        "name": party.name,
        "address": party.address,
        "state": party.state,
        "state_name": party.state_name,
        "country": party.country,
        "gstin": party.gstin,
    }


def invoice_json(doc: TaxDocument) -> InvoiceJson:
    amounts, rates = doc.amounts, doc.rates
    return {
        "invoice_id": doc.id,
        "kind": doc.kind.value,
        "number": doc.number,
        "date": doc.date,
        "issued_at": doc.issued_at,
        "financial_year": doc.financial_year,
        "user_id": doc.user_id,
        "order_id": doc.order_id,
        "refund_id": doc.refund_id,
        "invoice_number": doc.invoice_number,
        "seller": party_json(doc.seller),
        "buyer": party_json(doc.buyer),
        "place_of_supply": doc.place_of_supply,
        "supply": doc.supply,
        "currency": doc.currency,
        "lines": [
            {
                "description": line.description,
                "sac": doc.sac,
                "quantity": line.quantity,
                "taxable_value": line.taxable_value,
            }
            for line in doc.lines
        ],
        "taxable_value": amounts.taxable_value,
        "cgst_rate": rates.get("cgst", 0),
        "cgst": amounts.cgst,
        "sgst_rate": rates.get("sgst", 0),
        "sgst": amounts.sgst,
        "igst_rate": rates.get("igst", 0),
        "igst": amounts.igst,
        "total": amounts.total,
        "total_in_words": amount_in_words(amounts.total, doc.currency),
        "inr_value": doc.inr_value,
        "fx_rate": doc.fx_rate,
        "lut_reference": doc.lut_reference or None,
        "pdf_url": f"/api/v1/invoices/{doc.id}/pdf",
    }


@endpoint(query=InvoicesQuery, response=InvoicePage)
def invoices_list(call: Call) -> Reply:
    query = call.query(InvoicesQuery)
    user_id = query.user_id or call.user.uid
    if user_id != call.user.uid and not call.user.is_admin:
        raise Forbidden("reading another account's invoices needs the admin claim")
    page = call.services.invoices.list_for_user(user_id, query.limit, query.cursor)
    answer: InvoicePage = {
        "data": [invoice_json(d) for d in page.documents],
        "next_cursor": page.next_cursor,
    }
    return Reply(answer)


@endpoint(response=InvoiceJson)
def invoices_get(call: Call) -> Reply:
    doc = readable_invoice(
        call.services.invoices,
        call.path_param("invoice_id"),
        call.user.uid,
        admin=call.user.is_admin,
    )
    return Reply(invoice_json(doc))


@endpoint(response=bytes)
def invoices_pdf(call: Call) -> Reply:
    from shared.adapters.invoice_pdf import render_pdf

    doc = readable_invoice(
        call.services.invoices,
        call.path_param("invoice_id"),
        call.user.uid,
        admin=call.user.is_admin,
    )
    disposition = f'attachment; filename="{doc.id}.pdf"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "private, max-age=3600"}
    return Reply({}, headers=headers, content=(render_pdf(doc), "application/pdf"))
