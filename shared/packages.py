"""Default credit packages (seed 000): one at each bonus tier, priced by ``shared.pricing``."""

from __future__ import annotations

from dataclasses import dataclass

from shared.pricing import Quote, quote_purchase


@dataclass(frozen=True, slots=True)
class CreditPackage:
    id: str
    name: str
    amount: int  # paise, before tax

    @property
    def quote(self) -> Quote:
        return quote_purchase(self.amount)

    def to_json(self) -> dict[str, object]:
        quote = self.quote
        return {
            "id": self.id,
            "name": self.name,
            "amount": quote.amount,
            "currency": quote.currency,
            "tax": quote.tax,
            "total": quote.total,
            "credits": quote.credits,
            "bonus_credits": quote.bonus_credits,
        }


DEFAULT_PACKAGES: tuple[CreditPackage, ...] = (
    CreditPackage("starter", "Starter", 100_00),
    CreditPackage("basic", "Basic", 500_00),
    CreditPackage("standard", "Standard", 1_000_00),
    CreditPackage("pro", "Pro", 2_000_00),
    CreditPackage("business", "Business", 5_000_00),
)
