import pytest

from shared.errors import InvalidRequest
from shared.money import normalize_currency, percent_of, percent_of_floor, require_int_amount


@pytest.mark.parametrize("bad", [1.0, 10.5, "100", None, True, [1]])
def test_amounts_must_be_plain_integers(bad: object) -> None:
    with pytest.raises(InvalidRequest) as error:
        require_int_amount(bad, "amount")
    assert error.value.details == {"fields": {"amount": "must be an integer in minor units"}}


def test_absurd_amounts_are_refused() -> None:
    assert require_int_amount(10**12) == 10**12
    with pytest.raises(InvalidRequest):
        require_int_amount(10**12 + 1)


def test_currency_codes_are_lower_case_iso() -> None:
    assert normalize_currency("INR") == "inr"
    with pytest.raises(InvalidRequest) as error:
        normalize_currency("xyz")
    assert "currency" in error.value.details["fields"]


@pytest.mark.parametrize(
    ("amount", "percent", "half_up", "floor"),
    [(100, 18, 18, 18), (1, 18, 0, 0), (3, 18, 1, 0), (25, 18, 5, 4), (50, 1, 1, 0), (0, 18, 0, 0)],
)
def test_percent_rounding(amount: int, percent: int, half_up: int, floor: int) -> None:
    assert percent_of(amount, percent) == half_up
    assert percent_of_floor(amount, percent) == floor
