"""The PDF of a tax invoice carries every field a GST invoice must show, and is the same bytes
every time it is rendered (read back with pypdf)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shared.adapters.invoice_pdf import money_text, render_pdf
from shared.invoices.documents import Party, Seller, TaxDocument, credit_note_draft, invoice_draft
from shared.purchases.orders import CreditOrder
from shared.purchases.pricing import quote_foreign_purchase, quote_purchase

SELLER = Seller(
    Party("Devstack Billing Private Limited", "1 Test Road, Bengaluru", "29", "IN",
          "29AAACA1234A1ZG"),
    sac="998439", invoice_series="INV", credit_note_series="CN", lut_reference="AD2900000000000",
)  # fmt: skip
BUYER = Party("Pune Analytics LLP", "4 FC Road, Pune", "27", "IN", "27AAPFU0939F1ZV")
PAID_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)


def invoice(buyer: Party = BUYER, currency: str = "inr") -> TaxDocument:
    quote = (
        quote_purchase(1000_00)
        if currency == "inr"
        else quote_foreign_purchase(2000, currency, Decimal("8325"))
    )
    order = CreditOrder.from_quote(
        "ord_pdf", "alice", quote, provider="razorpay", provider_order_id="o", created_at=PAID_AT
    )
    draft = invoice_draft(
        order, SELLER, buyer, provider_payment_id="pay", issued_at=PAID_AT,
        fx_rate=Decimal("8325"),
    )  # fmt: skip
    return draft.numbered(123)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    assert render_pdf(invoice()) == render_pdf(invoice())


def test_the_pdf_shows_every_field_a_gst_tax_invoice_must() -> None:
    text = text_of(render_pdf(invoice()))
    for field in [
        "TAX INVOICE",
        "Devstack Billing Private Limited",  # supplier: name, address, GSTIN
        "1 Test Road, Bengaluru",
        "GSTIN: 29AAACA1234A1ZG",
        "Pune Analytics LLP",  # recipient: name, address, GSTIN
        "4 FC Road, Pune",
        "GSTIN: 27AAPFU0939F1ZV",
        "Invoice number: INV/2026-27/000123",
        "Invoice date: 2026-06-01",
        "998439",  # SAC
        "Place of supply: Maharashtra (27)",
        "Taxable value",
        "1,000.00 INR",
        "IGST @ 18%",
        "180.00 INR",
        "1,180.00 INR",  # total in figures
        "Rupees One Thousand One Hundred Eighty Only",  # and in words
        "Bonus credits (free of charge)",
        "reverse charge: No",
    ]:
        assert field in text, field


def test_an_intra_state_invoice_shows_cgst_and_sgst() -> None:
    text = text_of(render_pdf(invoice(Party("Local Buyer", "Mysuru", "29"))))
    assert "CGST @ 9%" in text and "SGST @ 9%" in text and "IGST" not in text
    assert "90.00 INR" in text and "GSTIN: Unregistered" in text


def test_an_export_invoice_says_lut_and_shows_its_inr_value() -> None:
    text = text_of(render_pdf(invoice(Party("Acme Inc", "San Francisco", None, "US"), "usd")))
    assert "Supply meant for export under LUT without payment of IGST (AD2900000000000)" in text
    assert "20.00 USD" in text and "US Dollars Twenty Only" in text
    assert "Value in INR: 1,665.00 INR at 8325 paise per unit of USD" in text


def test_a_credit_note_names_the_invoice_it_reverses() -> None:
    note = credit_note_draft(
        invoice(), SELLER, refund_id="rfnd_1", refund_amount=590_00, refunded_before=0,
        issued_at=PAID_AT,
    ).numbered(1)  # fmt: skip
    text = text_of(render_pdf(note))
    assert "CREDIT NOTE" in text and "Credit note number: CN/2026-27/000001" in text
    assert "Against invoice: INV/2026-27/000123" in text and "IGST @ 18%" in text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(118000, "inr", "1,180.00 INR"), (500, "jpy", "500 JPY"), (1000, "kwd", "1.000 KWD")],
)
def test_amounts_are_written_from_minor_units(amount: int, currency: str, text: str) -> None:
    assert money_text(amount, currency) == text
