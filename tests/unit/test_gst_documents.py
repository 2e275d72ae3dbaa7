"""GST rules of tax invoices and credit notes: GSTINs, place of supply, the tax split, rounding,
financial-year numbering and the reversal of tax by credit notes (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.errors import InvalidRequest
from shared.invoices.billing import billing_party
from shared.invoices.documents import Party, Seller, credit_note_draft, invoice_draft
from shared.invoices.gstin import STATES, check_character, gstin_problem
from shared.invoices.tax import (
    Supply,
    TaxAmounts,
    document_date,
    document_number,
    financial_year,
    reversed_amounts,
    sale_amounts,
    split_tax,
    supply_of,
    tax_inside,
)
from shared.invoices.words import amount_in_words
from shared.purchases.orders import CreditOrder
from shared.purchases.pricing import quote_foreign_purchase, quote_purchase

SELLER = Seller(
    Party("Seller Pvt Ltd", "1 Road, Bengaluru", "29", "IN", "29AAACA1234A1ZG"),
    sac="998439",
    invoice_series="INV",
    credit_note_series="CN",
    lut_reference="AD2900000000000",
)
PAID_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)


# A GSTIN published as an example by GSTN-era tools (python-stdnum's too): its check is "V".
def test_a_published_gstin_validates_and_its_check_character_is_recomputed() -> None:
    assert gstin_problem("27AAPFU0939F1ZV") is None
    assert check_character("27AAPFU0939F1Z") == "V"


@pytest.mark.parametrize(
    ("gstin", "problem"),
    [
        ("27AAPFU0939F1Z", "15 characters"),
        ("28AAPFU0939F1ZV", "state code"),
        ("27AAPF10939F1ZV", "PAN"),
        ("27AAPFU0939F1XV", "PAN"),
        ("27AAPFU0939F1ZW", "check character"),
    ],
)
def test_a_malformed_gstin_is_refused_with_the_reason(gstin: str, problem: str) -> None:
    assert problem in (gstin_problem(gstin) or "")


def test_the_states_are_the_gst_state_codes() -> None:
    assert STATES["27"] == "Maharashtra" and STATES["29"] == "Karnataka"
    assert STATES["38"] == "Ladakh" and "25" not in STATES and "28" not in STATES


def test_billing_details_take_the_state_of_the_buyers_gstin() -> None:
    party = billing_party("Buyer", "Pune", None, None, "27aapfu0939f1zv")
    assert (party.state, party.gstin, party.country) == ("27", "27AAPFU0939F1ZV", "IN")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"gstin": "27AAPFU0939F1ZW"}, "gstin"),
        ({"state": "99"}, "state"),
        ({"state": "29", "gstin": "27AAPFU0939F1ZV"}, "gstin"),
        ({"name": " "}, "name"),
        ({"country": "USA"}, "country"),
        ({"country": "US", "state": "27"}, "state"),
    ],
)
def test_bad_billing_details_are_a_400_naming_the_field(fields: dict[str, str], named: str) -> None:
    sent = {"name": "Buyer", "address": "Pune", "state": None, "country": None, "gstin": None}
    with pytest.raises(InvalidRequest) as raised:
        billing_party(**(sent | fields))
    assert list(raised.value.details["fields"]) == [named]


@pytest.mark.parametrize(
    ("buyer_state", "country", "currency", "supply"),
    [
        ("29", "IN", "inr", Supply.INTRA_STATE),
        ("27", "IN", "inr", Supply.INTER_STATE),
        (None, "IN", "inr", Supply.INTRA_STATE),  # no state: taxed as the seller's
        (None, "US", "usd", Supply.EXPORT_UNDER_LUT),
        (None, "US", "inr", Supply.INTER_STATE),  # rupees from abroad: not an export
        ("27", "IN", "usd", Supply.INTER_STATE),  # dollars from India: not an export
    ],
)
def test_the_place_of_supply_decides_the_tax(
    buyer_state: str | None, country: str, currency: str, supply: Supply
) -> None:
    assert supply_of("29", buyer_state, country, currency) is supply


def test_cgst_gets_the_odd_paisa_and_the_halves_add_up_to_the_tax() -> None:
    assert split_tax(Supply.INTRA_STATE, 100_01, 18_00 + 1) == TaxAmounts(100_01, 9_01, 9_00)
    assert split_tax(Supply.INTER_STATE, 100_00, 18_00) == TaxAmounts(100_00, igst=18_00)


@pytest.mark.parametrize("amount", [100_00, 100_01, 123_45, 999_99, 50_000_00])
@pytest.mark.parametrize("supply", [Supply.INTRA_STATE, Supply.INTER_STATE])
def test_an_inr_invoice_totals_what_was_captured(amount: int, supply: Supply) -> None:
    quote = quote_purchase(amount)
    amounts = sale_amounts(supply, quote.amount, quote.tax, quote.total)
    assert (amounts.taxable_value, amounts.tax, amounts.total) == (amount, quote.tax, quote.total)


def test_an_export_is_zero_rated_at_the_price_paid() -> None:
    quote = quote_foreign_purchase(12_00, "usd", Decimal("8325"))
    amounts = sale_amounts(Supply.EXPORT_UNDER_LUT, quote.amount, quote.tax, quote.total)
    assert amounts == TaxAmounts(12_00)


def test_a_taxable_sale_charged_without_tax_on_top_has_the_tax_inside() -> None:
    # $11.80 paid from India: $10.00 taxable value and $1.80 IGST.
    assert tax_inside(11_80) == 1_80
    amounts = sale_amounts(Supply.INTER_STATE, 11_80, 0, 11_80)
    assert amounts == TaxAmounts(10_00, igst=1_80) and amounts.total == 11_80


@pytest.mark.parametrize("supply", [Supply.INTRA_STATE, Supply.INTER_STATE])
def test_partial_refunds_reverse_the_invoice_exactly(supply: Supply) -> None:
    sale = split_tax(supply, 123_45, 22_22)
    refunds = [1_01, 33_33, 7, 111_26]
    assert sum(refunds) == sale.total
    notes, before = [], 0
    for refund in refunds:
        note = reversed_amounts(sale, before, refund)
        assert note.total == refund
        notes.append(note)
        before += refund
    for head in ("taxable_value", "cgst", "sgst", "igst"):
        assert sum(getattr(n, head) for n in notes) == getattr(sale, head)


@pytest.mark.parametrize(
    ("at", "year"),
    [
        (datetime(2026, 4, 1, 0, tzinfo=UTC), "2026-27"),
        (datetime(2027, 3, 31, 18, 29, tzinfo=UTC), "2026-27"),
        # 31 March 18:30 UTC is already 1 April in India: the next year's series.
        (datetime(2027, 3, 31, 18, 30, tzinfo=UTC), "2027-28"),
        (datetime(2099, 12, 31, tzinfo=UTC), "2099-00"),
    ],
)
def test_the_financial_year_runs_april_to_march_in_india(at: datetime, year: str) -> None:
    assert financial_year(document_date(at)) == year


def test_a_number_names_the_series_the_year_and_six_digits() -> None:
    assert document_number("INV", "2026-27", 123) == "INV/2026-27/000123"


def test_the_total_is_written_in_words() -> None:
    assert amount_in_words(1_18_000_00 + 50, "inr") == (
        "Rupees One Lakh Eighteen Thousand and Paise Fifty Only"
    )
    assert amount_in_words(12_00, "usd") == "US Dollars Twelve Only"


def order(amount: int = 1000_00, currency: str = "inr") -> CreditOrder:
    quote = (
        quote_purchase(amount)
        if currency == "inr"
        else quote_foreign_purchase(amount, currency, Decimal("8325"))
    )
    return CreditOrder.from_quote(
        "ord_1", "alice", quote, provider="razorpay", provider_order_id="o", created_at=PAID_AT
    )


def test_an_invoice_shows_the_credits_and_the_bonus_at_zero_value() -> None:
    buyer = Party("Buyer", "Pune", "27", "IN", "27AAPFU0939F1ZV")
    draft = invoice_draft(order(), SELLER, buyer, provider_payment_id="pay", issued_at=PAID_AT)
    assert draft.supply is Supply.INTER_STATE and draft.amounts.igst == 180_00
    assert [(line.quantity, line.taxable_value) for line in draft.lines] == [
        (1000_00, 1000_00),
        (150_00, 0),
    ]
    numbered = draft.numbered(7)
    assert (numbered.number, numbered.id) == ("INV/2026-27/000007", "INV-2026-27-000007")
    assert numbered.place_of_supply == "Maharashtra (27)"


def test_an_export_invoice_shows_the_inr_value_at_the_rate_and_the_lut() -> None:
    buyer = Party("Buyer Inc", "NYC", None, "US")
    draft = invoice_draft(
        order(12_00, "usd"),
        SELLER,
        buyer,
        provider_payment_id="pi",
        issued_at=PAID_AT,
        fx_rate=Decimal("8325"),
    )
    assert draft.supply is Supply.EXPORT_UNDER_LUT and draft.amounts == TaxAmounts(12_00)
    assert (draft.currency, draft.inr_value, draft.fx_rate) == ("usd", 999_00, "8325")
    assert draft.lut_reference == "AD2900000000000"


def test_a_credit_note_references_the_invoice_in_its_own_series() -> None:
    invoice = invoice_draft(
        order(), SELLER, Party("B", "A"), provider_payment_id="pay", issued_at=PAID_AT
    ).numbered(5)
    note = credit_note_draft(
        invoice, SELLER, refund_id="rfnd", refund_amount=590_00, refunded_before=0,
        issued_at=datetime(2027, 4, 2, tzinfo=UTC),
    ).numbered(1)  # fmt: skip
    assert (note.number, note.invoice_number) == ("CN/2027-28/000001", "INV/2026-27/000005")
    assert note.amounts == TaxAmounts(500_00, cgst=45_00, sgst=45_00)
