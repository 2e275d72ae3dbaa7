"""A tax invoice or credit note as PDF, rendered with fpdf2 (the one module that imports it).

Deterministic: the same document gives the same bytes every time. The PDF's creation date is
the document's issue time (fpdf2 derives the file /ID from the content and that date), and
nothing else varies (built-in Helvetica, no images, no random ids).

It carries what rule 46 of the CGST Rules asks of a tax invoice: supplier's name, address and
GSTIN; number and date; recipient's name, address and GSTIN (if registered); SAC; description and
quantity; taxable value; rate and amount of each tax; place of supply (state name and code);
total in figures and in words; for an export, "supply meant for export under LUT" with the
LUT's reference; a credit note names the invoice it reverses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.invoices.documents import DocumentKind, Party, TaxDocument
from shared.invoices.tax import Supply
from shared.invoices.words import amount_in_words
from shared.money import CURRENCY_EXPONENTS

if TYPE_CHECKING:
    from fpdf import FPDF

TITLES = {DocumentKind.INVOICE: "TAX INVOICE", DocumentKind.CREDIT_NOTE: "CREDIT NOTE"}
WIDTHS = (100, 20, 30, 40)  # description, SAC, quantity, taxable value (mm; page body is 190)


def money_text(amount: int, currency: str) -> str:
    """``118000`` paise as ``1,180.00 INR`` (integers only)."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    major, minor = divmod(amount, 10**exponent)
    fraction = f".{minor:0{exponent}d}" if exponent else ""
    return f"{major:,}{fraction} {currency.upper()}"


def render_pdf(doc: TaxDocument) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(doc.issued_at)  # fixed per document: same bytes twice
    pdf.set_title(f"{TITLES[doc.kind]} {doc.number}")
    pdf.set_author(doc.seller.name)
    pdf.set_margins(10, 10, 10)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, TITLES[doc.kind], new_x="LMARGIN", new_y="NEXT", align="C")
    _heading(pdf, doc)
    _party(pdf, "Supplier", doc.seller)
    _party(pdf, "Recipient", doc.buyer)
    _lines(pdf, doc)
    _taxes(pdf, doc)
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, "This is a computer-generated document; no signature is required.")
    return bytes(pdf.output())


def _text(pdf: FPDF, text: str, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 10)
    pdf.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _latin1(text: str) -> str:
    """Helvetica covers Latin-1: anything else (a name in Devanagari) is shown as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _heading(pdf: FPDF, doc: TaxDocument) -> None:
    label = "Invoice" if doc.kind is DocumentKind.INVOICE else "Credit note"
    _text(pdf, f"{label} number: {doc.number}", bold=True)
    _text(pdf, f"{label} date: {doc.date.isoformat()}")
    if doc.invoice_number:
        _text(pdf, f"Against invoice: {doc.invoice_number}")
    _text(pdf, f"Place of supply: {doc.place_of_supply}")
    _text(pdf, "Tax payable on reverse charge: No")
    _text(pdf, f"Order: {doc.order_id}")
    if doc.supply is Supply.EXPORT_UNDER_LUT:
        lut = f" ({doc.lut_reference})" if doc.lut_reference else ""
        _text(pdf, f"Supply meant for export under LUT without payment of IGST{lut}", bold=True)
    pdf.ln(2)


def _party(pdf: FPDF, role: str, party: Party) -> None:
    _text(pdf, f"{role}: {party.name}", bold=True)
    if party.address:
        _text(pdf, f"Address: {party.address}")
    if party.state:
        _text(pdf, f"State: {party.state_name} (code {party.state})")
    _text(pdf, f"Country: {party.country}")
    _text(pdf, f"GSTIN: {party.gstin or 'Unregistered'}")
    pdf.ln(2)


def _lines(pdf: FPDF, doc: TaxDocument) -> None:
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(
        WIDTHS, ("Description", "SAC", "Quantity", "Taxable value"), strict=True
    ):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in doc.lines:
        cells = (
            _latin1(line.description),
            doc.sac,
            f"{line.quantity:,}" if line.quantity else "-",
            money_text(line.taxable_value, doc.currency),
        )
        for width, text in zip(WIDTHS, cells, strict=True):
            pdf.cell(width, 7, text, border=1)
        pdf.ln()
    pdf.ln(2)


def _taxes(pdf: FPDF, doc: TaxDocument) -> None:
    amounts, rates, currency = doc.amounts, doc.rates, doc.currency
    rows = [("Taxable value", money_text(amounts.taxable_value, currency))]
    for head in ("cgst", "sgst", "igst"):
        if head in rates:
            amount = getattr(amounts, head)
            rows.append((f"{head.upper()} @ {rates[head]}%", money_text(amount, currency)))
    rows.append(("Total", money_text(amounts.total, currency)))
    for label, value in rows:
        pdf.set_font("Helvetica", "B" if label == "Total" else "", 10)
        pdf.cell(150, 7, label, border=1)
        pdf.cell(40, 7, value, border=1, new_x="LMARGIN", new_y="NEXT")
    _text(pdf, f"Total in words: {amount_in_words(amounts.total, currency)}")
    if doc.inr_value is not None:
        rate = f" at {doc.fx_rate} paise per unit of {currency.upper()}" if doc.fx_rate else ""
        _text(pdf, f"Value in INR: {money_text(doc.inr_value, 'inr')}{rate}")
