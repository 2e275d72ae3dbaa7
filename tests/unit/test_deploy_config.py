"""A deploy configuration is checked without a cloud account; each problem names its key."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from ops.deploy import config_path
from ops.deploy_config import ConfigError, parse

EXAMPLE: dict[str, Any] = tomllib.loads(config_path("example").read_text())


def problems_of(change: dict[str, Any], drop: tuple[str, str] | None = None) -> list[str]:
    raw = copy.deepcopy(EXAMPLE)
    for table, values in change.items():
        if isinstance(values, dict):
            raw.setdefault(table, {}).update(values)
        else:
            raw[table] = values
    if drop:
        del raw[drop[0]][drop[1]]
    with pytest.raises(ConfigError) as error:
        parse("test", raw)
    return error.value.problems


def test_the_documented_example_is_valid() -> None:
    config = parse("example", copy.deepcopy(EXAMPLE))
    assert config.region == "asia-south1"
    assert config.scheduler_account not in config.metering_accounts


@pytest.mark.parametrize(
    ("change", "drop", "named"),
    [
        ({"settings": {"STRIPE_SECRET_KEY": "sk_live_123"}}, None, "settings.STRIPE_SECRET_KEY"),
        ({"secrets": {"STRIPE_SECRET_KEY": "sk_live_123"}}, None, "secrets.STRIPE_SECRET_KEY"),
        ({"settings": {"RAZORPAY_BASE_URL": "http://127.0.0.1:9010"}}, None, "RAZORPAY_BASE_URL"),
        ({"settings": {"STRIPE_API_BASE": "http://127.0.0.1:8420"}}, None, "STRIPE_API_BASE"),
        ({"settings": {"NO_SUCH_SETTING": "1"}}, None, "settings.NO_SUCH_SETTING"),
        ({"settings": {"SERVICE_CERTS_URL": "https://keys.example.com"}}, None, "CERTS_URL"),
        ({"secrets": {"RAZORPAY_KEY_SECRET": "Xq7Bz9LmP2aQ4rT8vW1yE6uI"}}, None, "secrets.RAZ"),
        ({"settings": {"METERING_SERVICE_ACCOUNTS": "a@b.iam.gserviceaccount.com"}}, None, "METER"),
        ({"settings": {"OUTBOX_MAX_ATTEMPTS": "many"}}, None, "OUTBOX_MAX_ATTEMPTS"),
        ({"settings": {"CREDIT_FX_RATES": "{not json"}}, None, "settings"),
        ({}, ("settings", "SERVICE_AUDIENCE"), "settings.SERVICE_AUDIENCE"),
        ({}, ("settings", "SELLER_GSTIN"), "settings.SELLER_GSTIN: required"),
        ({"settings": {"SELLER_GSTIN": "29AAACA1234A1ZH"}}, None, "SELLER_GSTIN: the check"),
        ({"settings": {"SELLER_GSTIN": "27AAPFU0939F1ZV"}}, None, "SELLER_GSTIN: registered in"),
        ({"settings": {"SELLER_STATE": "99"}}, None, "settings.SELLER_STATE"),
        ({"settings": {"CREDIT_NOTE_SERIES": "INV"}}, None, "settings.CREDIT_NOTE_SERIES"),
        ({"settings": {"INVOICE_SERIES": "inv/x"}}, None, "settings.INVOICE_SERIES"),
        ({}, ("settings", "EVENT_SERVICE_URL"), "settings.EVENT_SERVICE_URL"),
        ({}, ("secrets", "EVENT_SERVICE_SECRET"), "secrets.EVENT_SERVICE_SECRET"),
        ({"service_accounts": {"metering": ["someone@gmail.com"]}}, None, "service_accounts"),
        ({"service_accounts": {"metering": []}}, None, "service_accounts.metering"),
        ({"region": "Mars"}, None, "region"),
        ({"firestore_location": "Mumbai"}, None, "firestore_location"),
        ({"firestore_database": "Billing_DB"}, None, "firestore_database"),
        ({"settings": {"FIRESTORE_DATABASE": "billing"}}, None, "settings.FIRESTORE_DATABASE"),
        ({"secrets": {"STRIPE_SECRET_KEY": "stripe-secret-key"}}, None, "secrets.STRIPE"),
        ({"project": ""}, None, "project"),
        ({"extra": 1}, None, "extra"),
    ],
)
def test_a_configuration_that_would_ship_a_broken_service_is_refused(
    change: dict[str, Any], drop: tuple[str, str] | None, named: str
) -> None:
    problems = problems_of(change, drop)
    assert any(p.startswith(named) or named in p for p in problems), problems
