"""An amount in words, as a tax invoice shows its total ("Rupees One Lakh ... Only")."""

from __future__ import annotations

from shared.money import CURRENCY_EXPONENTS

ONES = (
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen",
)  # fmt: skip
TENS = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
# Major and minor unit names; a currency not listed is written by its code.
UNITS = {
    "inr": ("Rupees", "Paise"),
    "usd": ("US Dollars", "Cents"),
    "eur": ("Euros", "Cents"),
    "gbp": ("Pounds Sterling", "Pence"),
}
# Indian grouping for rupees (crore, lakh, thousand), the international one for the rest.
INDIAN = ((10**7, "Crore"), (10**5, "Lakh"), (10**3, "Thousand"))
INTERNATIONAL = ((10**9, "Billion"), (10**6, "Million"), (10**3, "Thousand"))


def _below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words += [ONES[n // 100], "Hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
    if n:
        words.append(ONES[n])
    return words


def number_in_words(n: int, indian: bool = True) -> str:
    if n == 0:
        return ONES[0]
    words: list[str] = []
    for size, name in INDIAN if indian else INTERNATIONAL:
        if n >= size:
            words += [number_in_words(n // size, indian), name]
            n %= size
    words += _below_thousand(n)
    return " ".join(words)


def amount_in_words(amount: int, currency: str) -> str:
    """``amount`` minor units of ``currency`` in words, e.g. "Rupees Eleven Hundred ... Only"."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    major, minor = divmod(amount, 10**exponent)
    major_name, minor_name = UNITS.get(currency, (currency.upper(), "Minor Units"))
    text = f"{major_name} {number_in_words(major, currency == 'inr')}"
    if minor:
        text += f" and {minor_name} {number_in_words(minor)}"
    return f"{text} Only"
