"""One deploy configuration per environment: a TOML file the team fills in (``deploy/*.toml``).

``deploy/example.toml`` documents every key. ``load`` validates a file without any cloud
account (``make deploy-check``): unknown or local-only settings, secret values written in plain
text, missing production settings, malformed accounts and values that the service itself would
refuse at start-up are all errors, each naming the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from shared.config import Settings
from shared.invoices.gstin import STATES, gstin_problem

# Settings that only make sense on a developer's machine: pointing production at them would
# send real money through a fake provider or read another project's database.
LOCAL_ONLY = frozenset(
    {
        "razorpay_base_url",  # the Razorpay sandbox
        "stripe_api_base",  # localstripe
        "firestore_project_id",  # tests' isolated projects; production uses the Firebase project
        "firebase_project_id",  # set from `project`, never by hand
        # Google's certs, always: another key server could mint service tokens for anyone.
        "service_certs_url",
    }
)
# Settings the plan derives from [service_accounts], so IAM and the code's lists never differ.
FROM_SERVICE_ACCOUNTS = frozenset({"metering_service_accounts", "scheduler_service_accounts"})
# Without these a deployed function cannot do its job (every service token refused, Checkout
# without a key, notifications pending forever), so a configuration must give them.
REQUIRED_IN_PRODUCTION = frozenset(
    {"service_audience", "razorpay_key_id", "stripe_publishable_key", "event_service_url"}
    # Every tax invoice names the seller as registered for GST.
    | {"seller_legal_name", "seller_address", "seller_state", "seller_gstin"}
)
SECRET_FIELDS = frozenset(
    name for name, info in Settings.model_fields.items() if info.annotation is SecretStr
)
SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
# Firestore locations: a region, or a multi-region (nam5, nam7, eur3).
LOCATION = re.compile(r"^([a-z]+-[a-z]+[0-9]+|nam[0-9]+|eur[0-9]+)$")
# Firestore database ids: lower-case letters, digits and hyphens, 4 to 63 characters.
DATABASE = re.compile(r"^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$")
PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
NOTIFICATION_CHANNEL = re.compile(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/notificationChannels/\w+$"
)


class ConfigError(ValueError):
    """A deploy configuration that would ship a broken or unsafe service; names every key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class DeployConfig:
    name: str  # the environment, from the file name
    project: str
    region: str
    firestore_location: str
    metering_accounts: tuple[str, ...]
    scheduler_account: str
    firestore_database: str = "(default)"  # the one database: triggers, rules, indexes, code
    settings: dict[str, str] = field(default_factory=dict)  # ENV_NAME -> plain value
    secrets: dict[str, str] = field(default_factory=dict)  # ENV_NAME -> Secret Manager name
    # Who the alert policies page (Cloud Monitoring notification channels).
    notification_channels: tuple[str, ...] = ()

    @property
    def service_accounts(self) -> tuple[str, ...]:
        return (*self.metering_accounts, self.scheduler_account)


def load(path: Path) -> DeployConfig:
    """Read and validate one environment's file; raise ConfigError naming each problem."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError([f"{path}: {error}"]) from error
    return parse(path.stem, raw)


def parse(name: str, raw: dict[str, Any]) -> DeployConfig:
    problems: list[str] = []
    known = {
        "project",
        "region",
        "firestore_location",
        "firestore_database",
        "service_accounts",
        "settings",
        "secrets",
        "monitoring",
    }
    problems += [f"{key}: unknown key" for key in raw if key not in known]

    def text(key: str, pattern: re.Pattern[str], table: dict[str, Any] = raw) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            problems.append(f"{key}: missing or malformed ({value!r})")
            return ""
        return value

    project = text("project", PROJECT)
    region = text("region", REGION)
    location = raw.get("firestore_location", region)
    if not isinstance(location, str) or not LOCATION.match(location):
        problems.append(
            f"firestore_location: {location!r} is not a Firestore location (a region such as "
            "asia-south1, or a multi-region: nam5, eur3)"
        )
        location = ""

    database = raw.get("firestore_database", "(default)")
    if not isinstance(database, str) or not DATABASE.match(database):
        problems.append(f"firestore_database: {database!r} is not (default) or a database id")
        database = ""

    accounts = raw.get("service_accounts", {})
    metering = accounts.get("metering", [])
    if not isinstance(metering, list) or not metering:
        problems.append("service_accounts.metering: list at least one service account")
        metering = []
    scheduler = accounts.get("scheduler", "")
    for account in [*metering, scheduler]:
        if not isinstance(account, str) or not SERVICE_ACCOUNT.match(account):
            problems.append(f"service_accounts: {account!r} is not a service account e-mail")
    if scheduler in metering:
        problems.append("service_accounts.scheduler: must not also be a metering account")

    settings = _plain_settings(raw.get("settings", {}), problems)
    secrets = _secrets(raw.get("secrets", {}), problems)
    channels = _notification_channels(raw.get("monitoring", {}), problems)
    if problems:
        raise ConfigError(problems)
    return DeployConfig(
        name=name,
        project=project,
        region=region,
        firestore_location=location,
        firestore_database=database,
        metering_accounts=tuple(metering),
        scheduler_account=scheduler,
        settings=settings,
        secrets=secrets,
        notification_channels=channels,
    )


def _notification_channels(table: object, problems: list[str]) -> tuple[str, ...]:
    # An alert that notifies nobody is a dashboard nobody watches: at least one channel.
    channels = table.get("notification_channels") if isinstance(table, dict) else None
    if not isinstance(channels, list) or not channels:
        problems.append("monitoring.notification_channels: list at least one channel")
        return ()
    for channel in channels:
        if not isinstance(channel, str) or not NOTIFICATION_CHANNEL.match(channel):
            problems.append(
                f"monitoring.notification_channels: {channel!r} is not "
                "projects/<project>/notificationChannels/<id>"
            )
    return tuple(c for c in channels if isinstance(c, str))


def _plain_settings(table: object, problems: list[str]) -> dict[str, str]:
    if not isinstance(table, dict):
        problems.append("settings: must be a table")
        return {}
    settings: dict[str, str] = {}
    for key, value in table.items():
        field_name = key.lower()
        if field_name not in Settings.model_fields:
            problems.append(f"settings.{key}: not a setting of the service (shared/config.py)")
        elif field_name in SECRET_FIELDS:
            problems.append(
                f"settings.{key}: a secret; name its Secret Manager secret in [secrets]"
            )
        elif field_name in LOCAL_ONLY:
            problems.append(f"settings.{key}: local development only")
        elif field_name in FROM_SERVICE_ACCOUNTS:
            problems.append(f"settings.{key}: set by [service_accounts]")
        elif field_name == "firestore_database":
            problems.append(f"settings.{key}: set by firestore_database")
        elif not isinstance(value, str | int | bool):
            problems.append(f"settings.{key}: must be a string, integer or boolean")
        else:
            settings[key.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    missing = sorted(f.upper() for f in REQUIRED_IN_PRODUCTION if f.upper() not in settings)
    problems += [f"settings.{key}: required in production" for key in missing]
    problems += _seller_problems(settings)
    try:  # the values the service itself would refuse at start-up
        Settings.from_environment(settings)
    except ValidationError as error:
        for err in error.errors():
            where = ".".join(str(p) for p in err["loc"]).upper()
            problems.append(f"settings.{where}: {err['msg']}")
    except ValueError as error:  # JSON of a mapping
        problems.append(f"settings: {error}")
    return settings


def _seller_problems(settings: dict[str, str]) -> list[str]:
    """The seller's GST registration as tax invoices will print it: state code and GSTIN."""
    problems = []
    state, gstin = settings.get("SELLER_STATE"), settings.get("SELLER_GSTIN")
    if state is not None and state not in STATES:
        problems.append(f"settings.SELLER_STATE: {state!r} is not a GST state code, e.g. 27")
    if gstin is not None and (problem := gstin_problem(gstin)):
        problems.append(f"settings.SELLER_GSTIN: {problem}")
    elif gstin is not None and state is not None and gstin[:2] != state:
        problems.append(f"settings.SELLER_GSTIN: registered in state {gstin[:2]}, not {state}")
    series = settings.get("INVOICE_SERIES", "INV"), settings.get("CREDIT_NOTE_SERIES", "CN")
    if series[0] == series[1]:
        problems.append("settings.CREDIT_NOTE_SERIES: must differ from INVOICE_SERIES")
    return problems


def _secrets(table: object, problems: list[str]) -> dict[str, str]:
    if not isinstance(table, dict):
        problems.append("secrets: must be a table")
        return {}
    secrets: dict[str, str] = {}
    for key, value in table.items():
        if key.lower() not in SECRET_FIELDS:
            problems.append(f"secrets.{key}: not a secret setting of the service")
        elif value != key.upper():
            # Firebase mounts a secret under its own name (the SDK's `secrets=[...]`).
            problems.append(
                f"secrets.{key}: must name the Secret Manager secret {key.upper()!r} "
                "(Firebase mounts a secret under its own name), never hold its value"
            )
        else:
            secrets[key.upper()] = value
    missing = sorted(f.upper() for f in SECRET_FIELDS if f.upper() not in secrets)
    problems += [f"secrets.{key}: required in production" for key in missing]
    return secrets
