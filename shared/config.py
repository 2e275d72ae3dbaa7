"""Typed configuration, read once from the environment with the seeds' variable names."""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from shared.money import CURRENCY_EXPONENTS


class Settings(BaseModel):
    """Everything the service reads from its environment.

    Names follow the seeds (FIREBASE_PROJECT_ID, RAZORPAY_KEY_ID, STRIPE_SECRET_KEY, LOG_LEVEL,
    ...): each field is read from the upper-case variable of its name, and validated by pydantic
    (strings to numbers and booleans; JSON for mappings). Secrets are SecretStr so they never
    print. A plain model read by ``from_environment`` rather than pydantic-settings, whose
    import alone cost every cold start ~30 ms.
    """

    model_config = ConfigDict(extra="ignore")

    service_name: str = "billing-service"
    version: str = "0.1.0"
    debug: bool = False
    log_level: str = "INFO"

    firebase_project_id: str = "demo-billing"
    # Refuse tokens of disabled users and revoked sessions. The Auth lookup this needs is
    # remembered per user for this many seconds (0: look up on every request).
    auth_check_revoked: bool = True
    auth_revocation_cache_seconds: float = Field(default=30.0, ge=0)
    # Firestore database project; defaults to the Firebase project. Tests point it elsewhere.
    firestore_project_id: str | None = None
    firestore_database: str = "(default)"

    razorpay_key_id: str = ""
    razorpay_key_secret: SecretStr = SecretStr("")
    razorpay_webhook_secret: SecretStr = SecretStr("")
    razorpay_base_url: str | None = None  # set for the local sandbox; None means Razorpay itself
    # Seconds one call to a provider may take (Stripe retries twice more on network errors).
    razorpay_timeout_seconds: float = Field(default=10.0, gt=0)
    stripe_timeout_seconds: float = Field(default=20.0, gt=0)

    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str | None = None  # set for localstripe; None means Stripe itself
    stripe_publishable_key: str = ""  # handed to clients to confirm credit purchases
    # Credit purchases in other currencies (through Stripe): credit units (paise of value) per
    # one major unit of the currency, as JSON: CREDIT_FX_RATES='{"usd": "8325", "jpy": "55"}'
    # sells $1 for ₹83.25 and ¥1 for ₹0.55 of credits. Unlisted currencies are not sold.
    credit_fx_rates: dict[str, Decimal] = Field(default_factory=dict)

    event_service_url: str | None = None
    event_service_secret: SecretStr = SecretStr("")
    # Outbox delivery: tries per notification before it is parked, and the POST timeout.
    outbox_max_attempts: int = Field(default=5, ge=1, le=50)
    event_service_timeout_seconds: float = Field(default=10.0, gt=0)

    # Concurrency rule: how often a writer re-reads the head after losing the race for an entry.
    ledger_max_attempts: int = Field(default=20, ge=1, le=100)
    # Seconds a Firestore call may take before the request answers 503.
    firestore_timeout_seconds: float = Field(default=10.0, gt=0)

    # Service identity: Google-signed OIDC ID tokens of allow-listed accounts, one allow-list per
    # kind of endpoint (comma-separated emails): metering for usage and holds, scheduler for hold
    # expiry and reconciliation. SERVICE_NAMES (JSON) lists the `service` values each metering
    # account may send, e.g. '{"metering@p.iam.gserviceaccount.com": ["ai", "search"]}'; an
    # account not listed may send only its own account id ("ai" for ai@p.iam...). Empty audience
    # or allow-list refuses every service token there (fail closed).
    service_audience: str = ""
    metering_service_accounts: str = ""
    scheduler_service_accounts: str = ""
    service_names: dict[str, list[str]] = Field(default_factory=dict)
    service_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"

    # Low-balance pushes: "fcm" sends through Firebase Cloud Messaging, "log" only logs (local).
    push_sender: str = Field(default="fcm", pattern="^(fcm|log)$")

    # Holds: default and longest lifetime of a reservation, in seconds.
    # Credit grants (shared.ledger.grants): how long package bonuses last (0: forever); an optional
    # welcome grant given once per user on first use (0 credits: none); how long after a usage
    # charge its service may void it (Stripe allows 24 h for meter event cancellations).
    bonus_credit_expiry_days: int = Field(default=0, ge=0, le=3650)
    welcome_grant_credits: int = Field(default=0, ge=0, le=100_000_000)
    welcome_grant_expiry_days: int = Field(default=30, ge=0, le=3650)
    usage_void_window_seconds: int = Field(default=24 * 3600, ge=0, le=366 * 24 * 3600)

    hold_default_ttl_seconds: int = Field(default=15 * 60, ge=1)
    hold_max_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)

    # Reconciliation (scheduled): orders and payments left non-final longer than this are
    # settled by asking the provider; at most this many of each per run; an item still open
    # after the give-up age leaves the queue; looks at one item back off, doubling, to the cap.
    reconcile_after_seconds: int = Field(default=15 * 60, ge=0)
    reconcile_max_per_run: int = Field(default=100, ge=1, le=500)
    reconcile_give_up_seconds: int = Field(default=3 * 24 * 3600, ge=1)
    reconcile_backoff_cap_seconds: int = Field(default=6 * 3600, ge=1)

    # GST tax invoices and credit notes (shared.invoices): the seller as registered (legal name,
    # address, GST state code, GSTIN), the SAC of the credits sold, each series' prefix, and the
    # LUT's ARN under which exports are zero-rated. Empty seller fields: deploy-check refuses.
    seller_legal_name: str = ""
    seller_address: str = ""
    seller_state: str = ""
    seller_gstin: str = ""
    invoice_sac: str = Field(default="998439", pattern="^[0-9]{6}$")
    invoice_series: str = Field(default="INV", pattern="^[A-Z0-9]{1,6}$")
    credit_note_series: str = Field(default="CN", pattern="^[A-Z0-9]{1,6}$")
    invoice_lut_reference: str = ""

    @field_validator("credit_fx_rates")
    @classmethod
    def _fx_rates_price_known_currencies(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        """Lower-case the codes; refuse a currency whose exponent we do not know, and INR."""
        lowered = {code.lower(): rate for code, rate in rates.items()}
        for code, rate in lowered.items():
            if code not in CURRENCY_EXPONENTS or code == "inr":
                raise ValueError(f"{code}: not a currency credits can be sold in by rate")
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"{code}: the rate must be a positive number")
        return lowered

    # Per-user fixed-window rate limits: credit purchases, checkout verification, card payments
    # (card testing), usage summaries and device registrations (each costs reads or a provider).
    purchase_rate_limit: int = Field(default=10, ge=1)
    verify_rate_limit: int = Field(default=30, ge=1)
    payment_rate_limit: int = Field(default=10, ge=1)
    usage_summary_rate_limit: int = Field(default=30, ge=1)
    device_rate_limit: int = Field(default=10, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1)

    @property
    def firestore_project(self) -> str:
        return self.firestore_project_id or self.firebase_project_id

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Read every field from ``environ`` (default: the process environment)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = environ.get(name.upper(), environ.get(name))
            if raw is not None:
                is_mapping = typing.get_origin(field.annotation) is dict
                values[name] = json.loads(raw) if is_mapping else raw
        if "firebase_project_id" not in values and environ.get("GCLOUD_PROJECT"):
            # Firebase reserves FIREBASE_* names in a deploy's .env; it sets GCLOUD_PROJECT.
            values["firebase_project_id"] = environ["GCLOUD_PROJECT"]
        return cls.model_validate({**values, **overrides})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings, read from the environment on first use."""
    return Settings.from_environment()
