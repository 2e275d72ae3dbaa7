"""Credit pricing from seed 000: purchase limits, GST on top, bonus tiers.

Rules (amounts in paise, before tax):
- a purchase is between ₹100 and ₹50,000 inclusive;
- GST of 18 % is added on top, rounded half up to the paisa;
- credits bought equal the pre-tax amount (1 paisa = 1 credit unit);
- bonus credits are a percentage of the pre-tax amount by tier, rounded down to the credit unit:
  ₹500+ 10 %, ₹1000+ 15 %, ₹2000+ 20 %, ₹5000+ 25 % (a tier applies from its amount inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from shared.errors import invalid_field
from shared.money import (
    CURRENCY_EXPONENTS,
    percent_of,
    percent_of_floor,
    require_chargeable,
)

PRICING_CURRENCY = "inr"
MIN_PURCHASE_PAISE = 100_00
MAX_PURCHASE_PAISE = 50_000_00
GST_PERCENT = 18

# (minimum pre-tax amount in paise, bonus percent), highest tier first.
BONUS_TIERS: tuple[tuple[int, int], ...] = (
    (5_000_00, 25),
    (2_000_00, 20),
    (1_000_00, 15),
    (500_00, 10),
)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a purchase of ``amount`` costs and grants."""

    amount: int
    tax: int
    total: int
    currency: str
    credits: int
    bonus_credits: int


def bonus_percent(amount: int) -> int:
    """Return the bonus tier percent for a pre-tax amount in paise (0 below the first tier)."""
    for threshold, percent in BONUS_TIERS:
        if amount >= threshold:
            return percent
    return 0


def quote_purchase(amount: int, field: str = "amount") -> Quote:
    """Price a credit purchase of ``amount`` paise, or raise a 400 naming ``field``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise invalid_field(field, "must be an integer number of paise")
    if not MIN_PURCHASE_PAISE <= amount <= MAX_PURCHASE_PAISE:
        raise invalid_field(
            field,
            f"must be between {MIN_PURCHASE_PAISE} and {MAX_PURCHASE_PAISE} paise"
            " (₹100 to ₹50,000) before tax",
        )
    tax = percent_of(amount, GST_PERCENT)
    return Quote(
        amount=amount,
        tax=tax,
        total=amount + tax,
        currency=PRICING_CURRENCY,
        credits=amount,
        bonus_credits=percent_of_floor(amount, bonus_percent(amount)),
    )


def quote_foreign_purchase(
    amount: int, currency: str, units_per_major: Decimal, field: str = "amount"
) -> Quote:
    """Price a purchase of ``amount`` minor units of another currency (paid through Stripe).

    ``units_per_major`` is credit units (paise of value) per one major unit (1 USD, ¥1, 1 KWD);
    the currency's exponent turns minor units into major ones, so ¥20,000 and 1.000 KWD are
    each priced as what they are. Credits are rounded down to the credit unit (never granting
    value not paid for). The ₹100-₹50,000 limits and the bonus tiers apply to that INR value.
    No GST is added: it is charged on INR sales only (sales abroad are zero-rated exports).
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise invalid_field(field, f"must be an integer number of {currency} minor units")
    if amount <= 0 or units_per_major <= 0:
        raise invalid_field(field, "must be positive")
    require_chargeable(amount, currency, field)
    value = (Decimal(amount) * units_per_major).scaleb(-CURRENCY_EXPONENTS[currency])  # exact
    credits = int(value.to_integral_value(rounding=ROUND_FLOOR))
    if not MIN_PURCHASE_PAISE <= credits <= MAX_PURCHASE_PAISE:
        raise invalid_field(
            field, "must be worth ₹100 to ₹50,000 of credits at the configured rate"
        )
    return Quote(
        amount=amount,
        tax=0,
        total=amount,
        currency=currency,
        credits=credits,
        bonus_credits=percent_of_floor(credits, bonus_percent(credits)),
    )
