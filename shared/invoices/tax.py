"""GST on a credit sale: where it is supplied, how the tax splits, and how refunds reverse it.

Rates: 18 % GST on the online information service sold (credits), split CGST 9 % + SGST 9 % when
buyer and seller are in the same state, IGST 18 % otherwise. A buyer without a state is taxed as
if in the seller's state (the place of supply of an unregistered buyer with no address on record
is the supplier's location). A sale paid in another currency through Stripe to a buyer outside
India is an export of services: zero-rated, supplied under LUT (no IGST paid).

Rounding rule (integer minor units, never a float):
- the tax of an INR sale is what was charged: 18 % of the taxable value rounded half up
  (``shared.purchases.pricing``); a taxable sale charged without tax on top (a foreign-currency
  sale to a buyer in India) has the tax inside its price: taxable value = total x 100/118 rounded
  half up, tax = the rest. Either way taxable value + tax = what the provider captured;
- CGST takes the half of the tax rounded up, SGST the rest, so the two add up to the tax exactly
  (they differ by at most one minor unit);
- a refund of R out of a total T reverses, of each of CGST, SGST, IGST, ``floor(x * refunded
  after / T) - floor(x * refunded before / T)`` (cumulative, rounded down), and the rest of R is
  taxable value: partial refunds adding up to the total reverse the invoice exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

GST_RATE_PERCENT = 18
INDIA_TIME = timezone(timedelta(hours=5, minutes=30), "IST")


class Supply(StrEnum):
    INTRA_STATE = "intra_state"  # CGST + SGST
    INTER_STATE = "inter_state"  # IGST
    EXPORT_UNDER_LUT = "export_under_lut"  # zero-rated export, no tax paid


@dataclass(frozen=True, slots=True)
class TaxAmounts:
    """Taxable value and each tax, in minor units of the document's currency."""

    taxable_value: int
    cgst: int = 0
    sgst: int = 0
    igst: int = 0

    @property
    def tax(self) -> int:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> int:
        return self.taxable_value + self.tax


def supply_of(
    seller_state: str, buyer_state: str | None, buyer_country: str, currency: str
) -> Supply:
    """The kind of supply, by the buyer's place and the currency paid."""
    if buyer_country != "IN" and currency != "inr":
        return Supply.EXPORT_UNDER_LUT
    if buyer_country != "IN":
        return Supply.INTER_STATE  # paid in rupees from abroad: not an export, taxed as IGST
    place = buyer_state or seller_state
    return Supply.INTRA_STATE if place == seller_state else Supply.INTER_STATE


def split_tax(supply: Supply, taxable_value: int, tax: int) -> TaxAmounts:
    """Put ``tax`` under the heads of ``supply`` (CGST gets the odd minor unit)."""
    if supply is Supply.EXPORT_UNDER_LUT:
        return TaxAmounts(taxable_value + tax)
    if supply is Supply.INTER_STATE:
        return TaxAmounts(taxable_value, igst=tax)
    cgst = (tax + 1) // 2
    return TaxAmounts(taxable_value, cgst=cgst, sgst=tax - cgst)


def tax_inside(total: int) -> int:
    """The GST inside a price that includes it: total - round_half_up(total x 100 / 118)."""
    hundred = 100 + GST_RATE_PERCENT
    taxable = (total * 200 + hundred) // (2 * hundred)
    return total - taxable


def sale_amounts(supply: Supply, amount: int, tax: int, total: int) -> TaxAmounts:
    """The invoice's amounts for an order of ``amount`` + ``tax`` = ``total`` (as captured)."""
    if supply is not Supply.EXPORT_UNDER_LUT and tax == 0:
        inside = tax_inside(total)
        return split_tax(supply, total - inside, inside)
    return split_tax(supply, amount, tax)


def reversed_amounts(sale: TaxAmounts, refunded_before: int, refund: int) -> TaxAmounts:
    """What a refund of ``refund`` after ``refunded_before`` reverses (cumulative, see module)."""
    total = sale.total
    before = min(max(refunded_before, 0), total)
    after = min(before + max(refund, 0), total)

    def part(amount: int) -> int:
        return amount * after // total - amount * before // total

    cgst, sgst, igst = part(sale.cgst), part(sale.sgst), part(sale.igst)
    return TaxAmounts(after - before - cgst - sgst - igst, cgst=cgst, sgst=sgst, igst=igst)


def document_date(at: datetime) -> date:
    """The date of a document issued at ``at``: the date in India."""
    return at.astimezone(INDIA_TIME).date()


def financial_year(day: date) -> str:
    """The Indian financial year (April to March) of ``day``, as ``2026-27``."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def document_number(prefix: str, year: str, seq: int) -> str:
    """``INV/2026-27/000123``: the series prefix, the financial year, the number in it."""
    return f"{prefix}/{year}/{seq:06d}"
