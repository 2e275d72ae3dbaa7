"""Money and credits as integers in minor units; no float ever holds an amount.

Money is paise/cents beside a lower-case ISO currency code (as Stripe writes it).
Credits are credit units: 100 units = 1 credit = ₹1 of value, so one credit unit is worth one paisa.
"""

from __future__ import annotations

from shared.errors import invalid_field

# Currencies whose minor unit is the major unit, and those with three decimals, as Stripe lists
# them (https://docs.stripe.com/currencies): ¥500 is amount 500, 1.000 KWD is amount 1000.
ZERO_DECIMAL_CURRENCIES = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
})  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
TWO_DECIMAL_CURRENCIES = frozenset(["inr", "usd", "eur", "gbp", "sgd", "aud", "cad", "chf", "aed"])
# Minor-unit exponent per supported currency (ISO 4217): amount = major units x 10**exponent.
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(TWO_DECIMAL_CURRENCIES, 2),
    **dict.fromkeys(ZERO_DECIMAL_CURRENCIES, 0),
    **dict.fromkeys(THREE_DECIMAL_CURRENCIES, 3),
}

# Largest amount we accept in one request: far above any real purchase, far below int64 limits.
MAX_MINOR_UNITS = 10**12


def require_int_amount(value: object, field: str = "amount") -> int:
    """Return ``value`` if it is a plain int (not bool or float), else a 400 naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_field(field, "must be an integer in minor units")
    if abs(value) > MAX_MINOR_UNITS:
        raise invalid_field(field, f"must be at most {MAX_MINOR_UNITS} in absolute value")
    return value


def normalize_currency(code: object, field: str = "currency") -> str:
    """Return the lower-case ISO code if we support it, else raise a 400 naming ``field``."""
    if not isinstance(code, str) or code.lower() not in CURRENCY_EXPONENTS:
        supported = ", ".join(sorted(CURRENCY_EXPONENTS))
        raise invalid_field(field, f"must be one of: {supported}")
    return code.lower()


def require_chargeable(amount: int, currency: str, field: str = "amount") -> int:
    """Return ``amount`` if Stripe can charge it: three-decimal amounts must end in 0."""
    if currency in THREE_DECIMAL_CURRENCIES and amount % 10:
        raise invalid_field(field, f"{currency} amounts must be a multiple of 10 (Stripe rounds)")
    return amount


def percent_of(amount: int, percent: int) -> int:
    """Return ``percent`` % of ``amount``, rounded half up, in integer arithmetic.

    Rounding rule: half up (0.5 paise rounds to 1), used for tax, so that the tax charged is the
    amount a person computes on paper. Integers only, so no binary-float error can creep in.
    """
    if amount < 0:
        raise ValueError("percent_of expects a non-negative amount")
    return (amount * percent + 50) // 100


def percent_of_floor(amount: int, percent: int) -> int:
    """Return ``percent`` % of ``amount`` rounded down: used for bonuses, never over-granting."""
    if amount < 0:
        raise ValueError("percent_of_floor expects a non-negative amount")
    return (amount * percent) // 100


def credits_text(units: int) -> str:
    """Credit units as the portal shows them: credits with two decimals (``12345`` → ``123.45``)."""
    sign = "-" if units < 0 else ""
    whole, cents = divmod(abs(units), 100)
    return f"{sign}{whole}.{cents:02d}"
