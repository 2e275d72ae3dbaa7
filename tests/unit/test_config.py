"""Settings come from the seeds' environment variable names, typed and validated."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.config import Settings


def test_settings_are_read_from_upper_case_variables_and_typed() -> None:
    settings = Settings.from_environment(
        {
            "FIREBASE_PROJECT_ID": "demo-x",
            "RAZORPAY_KEY_SECRET": "rzp-secret",
            "AUTH_CHECK_REVOKED": "false",
            "LEDGER_MAX_ATTEMPTS": "7",
            "FIRESTORE_TIMEOUT_SECONDS": "2.5",
            "CREDIT_FX_RATES": '{"USD": "8325", "jpy": "55"}',
            "UNRELATED": "ignored",
        }
    )
    assert settings.firebase_project_id == "demo-x"
    assert settings.razorpay_key_secret.get_secret_value() == "rzp-secret"
    assert "rzp-secret" not in repr(settings)
    assert settings.auth_check_revoked is False
    assert (settings.ledger_max_attempts, settings.firestore_timeout_seconds) == (7, 2.5)
    assert settings.credit_fx_rates == {"usd": Decimal("8325"), "jpy": Decimal("55")}


def test_defaults_and_overrides() -> None:
    settings = Settings.from_environment({}, push_sender="log")
    assert (settings.firebase_project_id, settings.push_sender) == ("demo-billing", "log")


@pytest.mark.parametrize(
    "environ",
    [{"LEDGER_MAX_ATTEMPTS": "0"}, {"PUSH_SENDER": "pigeon"}, {"DEBUG": "maybe"}],
)
def test_bad_values_are_refused_at_start(environ: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings.from_environment(environ)


@pytest.mark.parametrize(
    "rates",
    [
        '{"xyz": "1"}',  # no such currency: its exponent is unknown, so it cannot be priced
        '{"usd": "0"}',
        '{"usd": "-8325"}',
        '{"inr": "100"}',  # INR is priced by the seed's rules, never through a rate
    ],
)
def test_fx_rates_that_could_misprice_are_refused_at_start(rates: str) -> None:
    with pytest.raises(ValidationError, match="credit_fx_rates"):
        Settings.from_environment({"CREDIT_FX_RATES": rates})


def test_the_project_comes_from_gcloud_project_where_firebase_reserves_firebase_names() -> None:
    # A deploy's .env may not set FIREBASE_*; Firebase sets GCLOUD_PROJECT on every function.
    assert Settings.from_environment({"GCLOUD_PROJECT": "acme"}).firebase_project_id == "acme"
    both = {"GCLOUD_PROJECT": "acme", "FIREBASE_PROJECT_ID": "mine"}
    assert Settings.from_environment(both).firebase_project_id == "mine"
