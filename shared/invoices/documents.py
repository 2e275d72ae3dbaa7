"""Tax invoices and credit notes: what each shows, drafted from an order or a refund.

A document is drafted without a number; the store numbers it in the same commit that records it
(``shared.invoices.issuing``). Both kinds share one shape: a credit note names the invoice it
reverses and carries the reversed amounts, positive, under the same heads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from shared.invoices.gstin import state_name
from shared.invoices.tax import (
    GST_RATE_PERCENT,
    Supply,
    TaxAmounts,
    document_date,
    document_number,
    financial_year,
    reversed_amounts,
    sale_amounts,
    supply_of,
)
from shared.purchases.orders import CreditOrder


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Party:
    """Supplier or recipient: legal name, address, state code (India), country, GSTIN."""

    name: str
    address: str
    state: str | None = None
    country: str = "IN"
    gstin: str | None = None

    @property
    def state_name(self) -> str | None:
        return state_name(self.state) if self.state else None


@dataclass(frozen=True, slots=True)
class Seller:
    """Who issues the documents, from configuration."""

    party: Party
    sac: str
    invoice_series: str
    credit_note_series: str
    lut_reference: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    quantity: int  # credit units
    taxable_value: int  # minor units


@dataclass(frozen=True, slots=True)
class TaxDocument:
    """A GST tax invoice or credit note; ``seq`` is 0 until the store numbers it."""

    kind: DocumentKind
    series: str
    financial_year: str
    user_id: str
    order_id: str
    source_key: str  # what it is issued for, once: the order, or the order's refund
    issued_at: datetime
    seller: Party
    buyer: Party
    supply: Supply
    sac: str
    currency: str
    lines: tuple[Line, ...]
    amounts: TaxAmounts
    provider: str
    provider_payment_id: str
    seq: int = 0
    refund_id: str | None = None
    invoice_id: str | None = None  # a credit note's invoice
    invoice_number: str | None = None
    inr_value: int | None = None  # paise: an invoice in another currency shows its INR value
    fx_rate: str | None = None  # paise of value per major unit, the rate the sale was priced at
    lut_reference: str = ""

    @property
    def number(self) -> str:
        return document_number(self.series, self.financial_year, self.seq)

    @property
    def id(self) -> str:
        """The document id: its number with ``-`` for ``/`` (ids may not hold ``/``)."""
        return self.number.replace("/", "-")

    @property
    def date(self) -> date:
        return document_date(self.issued_at)

    @property
    def place_of_supply(self) -> str:
        if self.supply is Supply.EXPORT_UNDER_LUT:
            return f"Outside India ({self.buyer.country})"
        state = self.buyer.state or self.seller.state
        if self.buyer.country != "IN" or state is None:
            return f"Outside India ({self.buyer.country})"
        return f"{state_name(state)} ({state})"

    @property
    def rates(self) -> dict[str, int]:
        """Percent rate of each tax head that applies."""
        if self.supply is Supply.INTRA_STATE:
            return {"cgst": GST_RATE_PERCENT // 2, "sgst": GST_RATE_PERCENT // 2}
        if self.supply is Supply.INTER_STATE:
            return {"igst": GST_RATE_PERCENT}
        return {"igst": 0}

    def numbered(self, seq: int) -> TaxDocument:
        return replace(self, seq=seq)


def invoice_key(order_id: str) -> str:
    return f"invoice:{order_id}"


def credit_note_key(order_id: str, refund_id: str) -> str:
    return f"credit_note:{order_id}:{refund_id}"


def invoice_draft(
    order: CreditOrder,
    seller: Seller,
    buyer: Party,
    *,
    provider_payment_id: str,
    issued_at: datetime,
    fx_rate: Decimal | None = None,
) -> TaxDocument:
    """The invoice of a paid order: its credits, the bonus at zero value, tax by place of supply."""
    supply = supply_of(seller.party.state or "", buyer.state, buyer.country, order.currency)
    amounts = sale_amounts(supply, order.amount, order.tax, order.total)
    lines = [Line(f"Prepaid credits, order {order.id}", order.credits, amounts.taxable_value)]
    if order.bonus_credits:
        lines.append(Line("Bonus credits (free of charge)", order.bonus_credits, 0))
    foreign = order.currency != "inr"
    return TaxDocument(
        kind=DocumentKind.INVOICE,
        series=seller.invoice_series,
        financial_year=financial_year(document_date(issued_at)),
        user_id=order.user_id,
        order_id=order.id,
        source_key=invoice_key(order.id),
        issued_at=issued_at,
        seller=seller.party,
        buyer=buyer,
        supply=supply,
        sac=seller.sac,
        currency=order.currency,
        lines=tuple(lines),
        amounts=amounts,
        provider=order.provider,
        provider_payment_id=provider_payment_id,
        # Credits of a foreign sale are its INR value at the rate used (floor, as priced).
        inr_value=order.credits if foreign else None,
        fx_rate=str(fx_rate) if foreign and fx_rate is not None else None,
        lut_reference=seller.lut_reference if supply is Supply.EXPORT_UNDER_LUT else "",
    )


def credit_note_draft(
    invoice: TaxDocument,
    seller: Seller,
    *,
    refund_id: str,
    refund_amount: int,
    refunded_before: int,
    issued_at: datetime,
) -> TaxDocument:
    """The credit note of a refund of ``refund_amount``: the invoice's tax reversed in its split."""
    amounts = reversed_amounts(invoice.amounts, refunded_before, refund_amount)
    line = Line(f"Refund {refund_id} against invoice {invoice.number}", 0, amounts.taxable_value)
    inr_value = None
    if invoice.inr_value is not None and invoice.amounts.total:
        inr_value = invoice.inr_value * amounts.total // invoice.amounts.total
    return replace(
        invoice,
        kind=DocumentKind.CREDIT_NOTE,
        series=seller.credit_note_series,
        financial_year=financial_year(document_date(issued_at)),
        source_key=credit_note_key(invoice.order_id, refund_id),
        issued_at=issued_at,
        lines=(line,),
        amounts=amounts,
        seq=0,
        refund_id=refund_id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        inr_value=inr_value,
    )
