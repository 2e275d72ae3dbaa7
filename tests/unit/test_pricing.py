from decimal import Decimal

import pytest

from shared.accounts.alerts import DEFAULT_LOW_BALANCE_THRESHOLD
from shared.errors import InvalidRequest
from shared.purchases.packages import DEFAULT_PACKAGES
from shared.purchases.pricing import bonus_percent, quote_purchase


@pytest.mark.parametrize(
    ("amount", "percent"),
    [
        (100_00, 0),
        (499_99, 0),
        (500_00, 10),
        (999_99, 10),
        (1_000_00, 15),
        (1_999_99, 15),
        (2_000_00, 20),
        (4_999_99, 20),
        (5_000_00, 25),
        (50_000_00, 25),
    ],
)
def test_bonus_tier_boundaries(amount: int, percent: int) -> None:
    assert bonus_percent(amount) == percent


@pytest.mark.parametrize(
    ("amount", "tax", "bonus"),
    [
        (100_00, 18_00, 0),  # minimum purchase
        (499_99, 90_00, 0),  # 8999.82 paise tax rounds half up to 9000
        (500_00, 90_00, 50_00),
        (999_99, 180_00, 99_99),  # 17999.82 -> 18000; bonus 9999.9 floors to 9999
        (1_000_00, 180_00, 150_00),
        (2_000_00, 360_00, 400_00),
        (5_000_00, 900_00, 1_250_00),
        (50_000_00, 9_000_00, 12_500_00),  # maximum purchase
        (123_45, 22_22, 0),  # 2222.1 -> 2222
        (123_47, 22_22, 0),  # 2222.46 -> 2222
        (123_48, 22_23, 0),  # 2222.64 -> 2223
    ],
)
def test_quote_tax_total_credits_and_bonus(amount: int, tax: int, bonus: int) -> None:
    quote = quote_purchase(amount)
    assert (quote.tax, quote.total, quote.credits, quote.bonus_credits) == (
        tax,
        amount + tax,
        amount,
        bonus,
    )
    assert quote.currency == "inr"


def test_half_paisa_of_tax_rounds_up() -> None:
    # 18 % of 10025 paise is 1804.5 paise: half up gives 1805.
    assert quote_purchase(100_25).tax == 18_05


@pytest.mark.parametrize("amount", [99_99, 0, -100_00, 50_000_01, 10**15])
def test_amounts_outside_limits_are_refused(amount: int) -> None:
    with pytest.raises(InvalidRequest) as error:
        quote_purchase(amount)
    assert "amount" in error.value.details["fields"]


@pytest.mark.parametrize("amount", [100.0, "10000", True])
def test_non_integer_amounts_are_refused(amount: object) -> None:
    with pytest.raises(InvalidRequest):
        quote_purchase(amount)  # type: ignore[arg-type]


def test_default_threshold_is_fifty_rupees_of_credits() -> None:
    assert DEFAULT_LOW_BALANCE_THRESHOLD == 5_000


def test_default_packages_cover_every_bonus_tier() -> None:
    tiers = {bonus_percent(package.amount) for package in DEFAULT_PACKAGES}
    assert tiers == {0, 10, 15, 20, 25}
    assert len({package.id for package in DEFAULT_PACKAGES}) == len(DEFAULT_PACKAGES)


def test_foreign_purchases_are_priced_at_their_inr_value_rounded_down() -> None:
    from shared.purchases.pricing import quote_foreign_purchase

    usd = Decimal("8325")  # credit units per US dollar: ₹83.25/$1
    quote = quote_foreign_purchase(2000, "usd", usd)
    assert (quote.amount, quote.tax, quote.total, quote.currency) == (2000, 0, 2000, "usd")
    assert (quote.credits, quote.bonus_credits) == (166_500, 24_975)
    # $1.21 at ₹83.25 is 10073.25 paise: rounded down to 10073 credit units.
    assert quote_foreign_purchase(121, "usd", usd).credits == 10_073
    with pytest.raises(InvalidRequest):
        quote_foreign_purchase(120, "usd", usd)  # ₹99.90: under the minimum
    with pytest.raises(InvalidRequest):
        quote_foreign_purchase(60_061, "usd", usd)  # over ₹50,000


def test_a_yen_purchase_counts_whole_yen_zero_decimal() -> None:
    from shared.purchases.pricing import quote_foreign_purchase

    # ¥20,000 is amount 20000 (JPY has no minor unit); at ₹0.55/¥1 it is ₹11,000 of credits.
    quote = quote_foreign_purchase(20_000, "jpy", Decimal("55"))
    assert (quote.total, quote.currency, quote.credits) == (20_000, "jpy", 1_100_000)
    assert quote.bonus_credits == 275_000  # the 25 % tier


def test_a_kuwaiti_dinar_purchase_counts_fils_three_decimal() -> None:
    from shared.purchases.pricing import quote_foreign_purchase

    # 1.000 KWD is amount 1000 (fils); at ₹270/KWD 1 it is ₹270 of credits, not ₹2,700.
    quote = quote_foreign_purchase(1_000, "kwd", Decimal("27000"))
    assert (quote.total, quote.currency, quote.credits, quote.bonus_credits) == (
        1_000,
        "kwd",
        27_000,
        0,
    )
    with pytest.raises(InvalidRequest, match="multiple of 10"):
        quote_foreign_purchase(1_005, "kwd", Decimal("27000"))  # Stripe charges whole 10 fils
