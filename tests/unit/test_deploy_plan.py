"""The deploy plan ships a service that can work: every function with every setting it reads,
private service endpoints, scheduler jobs, triggers and hosting in one region, and no secret."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from functions.declarations import DeployTarget, function_secrets, read_dotenv
from functions.registry import HTTP_FUNCTIONS, TRIGGER_FUNCTIONS, Auth
from ops.deploy import SDK_BUILD, Plan, config_path, main, plan
from ops.deploy_config import LOCAL_ONLY, REQUIRED_IN_PRODUCTION, DeployConfig, load
from ops.settings_reach import (
    ROOT,
    settings_read_by_function,
    settings_read_by_http_function,
    unseen_settings_reads,
)
from shared.config import Settings

SECRET_FIELDS = {n for n, f in Settings.model_fields.items() if f.annotation is SecretStr}


@pytest.fixture(scope="module")
def config() -> DeployConfig:
    return load(config_path("example"))


@pytest.fixture(scope="module")
def deploy(config: DeployConfig) -> Plan:
    return plan(config)


def edited_example(tmp_path: Path) -> Path:
    """The example with every placeholder filled in, as a team would."""
    text = config_path("example").read_text().replace("acme", "zeta").replace("XXXX", "Zq7P")
    path = tmp_path / "staging.toml"
    path.write_text(text)
    return path


def firebase_lines(deploy: Plan) -> list[str]:
    return [s.line for s in deploy.steps if s.line.startswith("firebase deploy")]


def dotenv_of(deploy: Plan) -> dict[str, str]:
    (path,) = [p for p in deploy.files if p.name.startswith(".env.")]
    return read_dotenv(deploy.files[path])


def firebase_json_of(deploy: Plan) -> dict[str, Any]:
    (path,) = [p for p in deploy.files if p.name.startswith(".firebase.")]
    loaded: dict[str, Any] = json.loads(deploy.files[path])
    return loaded


def reads(name: str) -> frozenset[str]:
    for function in HTTP_FUNCTIONS:
        if function.name == name:
            return settings_read_by_http_function(function.module, function.name)
    for trigger in TRIGGER_FUNCTIONS:
        if trigger.name == name:
            return settings_read_by_function(trigger.module, trigger.name)
    raise KeyError(name)


def test_the_source_is_compiled_for_the_functions_runtime_first(deploy: Plan) -> None:
    first = deploy.steps[0].line
    assert "compileall" in first and "checked-hash" in first
    assert first.startswith("python3.11 ")  # the cache tag must match the runtime python311
    (codebase,) = firebase_json_of(deploy)["functions"]
    assert codebase["runtime"] == "python311" and codebase["source"] == "."


def test_every_function_gets_every_setting_it_reads(deploy: Plan) -> None:
    # Plain settings go to every function through .env.<project>; secrets by name, per function.
    env, secrets = dotenv_of(deploy), function_secrets()
    for name in [f.name for f in HTTP_FUNCTIONS] + [f.name for f in TRIGGER_FUNCTIONS]:
        read = {f.upper() for f in reads(name)}
        needed = {f.upper() for f in REQUIRED_IN_PRODUCTION} & read
        assert needed <= set(env), f"{name} reads {needed - set(env)} but is not given them"
        assert {f.upper() for f in SECRET_FIELDS} & read == set(secrets[name]), name
    assert not set(env) & {f.upper() for f in SECRET_FIELDS}, "a secret in plain env"
    assert not [k for k in env if k.startswith("FIREBASE_")], "Firebase reserves FIREBASE_*"


def test_the_analysis_sees_what_the_code_reads() -> None:
    # Known facts of the code, so the analysis cannot silently go blind.
    assert {"service_audience", "metering_service_accounts", "service_names"} <= reads(
        "usage_record"
    )
    assert {"razorpay_key_id", "stripe_publishable_key", "credit_fx_rates"} <= reads(
        "credits_purchase"
    )
    assert {"event_service_url", "event_service_secret"} <= reads("deliver_outbox")
    assert "hold_max_ttl_seconds" in reads("holds_place")
    assert "reconcile_give_up_seconds" in reads("reconcile")
    assert "stripe_secret_key" not in reads("credits_balance")
    assert "razorpay_key_secret" not in reads("stripe_payment_process")


PROVIDER_SECRETS = {
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
}


def secrets_of(name: str) -> set[str]:
    return set(function_secrets()[name])


def test_functions_that_only_read_orders_or_payments_get_no_payment_provider_secret() -> None:
    # Least privilege: they share a module (and a wiring) with functions that call providers.
    for name in ("credits_orders", "payments_status", "stripe_payment_get", "stripe_refund_get"):
        assert secrets_of(name) & PROVIDER_SECRETS == set(), name


def test_functions_that_serve_one_provider_get_only_that_providers_secrets() -> None:
    assert "STRIPE_SECRET_KEY" not in secrets_of("payments_verify")  # Razorpay's verify
    assert "STRIPE_SECRET_KEY" not in secrets_of("webhooks_razorpay")
    assert not {"RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET"} & secrets_of("stripe_webhook")


def test_functions_that_call_a_payment_provider_keep_its_secret() -> None:
    assert {"RAZORPAY_KEY_SECRET", "STRIPE_SECRET_KEY"} <= secrets_of("credits_purchase")
    assert "RAZORPAY_KEY_SECRET" in secrets_of("payments_verify")
    for name in (
        "stripe_payment_process",
        "stripe_payment_verify",
        "stripe_refund_process",
        "stripe_refund_verify",
    ):
        assert "STRIPE_SECRET_KEY" in secrets_of(name), name
    assert "RAZORPAY_WEBHOOK_SECRET" in secrets_of("webhooks_razorpay")
    assert "STRIPE_WEBHOOK_SECRET" in secrets_of("stripe_webhook")


def test_no_code_reads_settings_around_the_wiring() -> None:
    sources = [
        ROOT / "main.py",
        *(ROOT / "functions").rglob("*.py"),
        *(ROOT / "shared").rglob("*.py"),
    ]
    assert unseen_settings_reads(sources) == []


def test_every_setting_is_read_by_some_deployed_function() -> None:
    read: set[str] = set()
    for name in [f.name for f in HTTP_FUNCTIONS] + [f.name for f in TRIGGER_FUNCTIONS]:
        read |= reads(name)
    unread = set(Settings.model_fields) - read - LOCAL_ONLY
    assert unread == set(), "a setting nothing deployed reads: wire it or drop it"


def test_the_deploy_is_firebase_deploy_rules_and_indexes_first(deploy: Plan) -> None:
    lines = [step.line for step in deploy.steps]
    rules, functions = firebase_lines(deploy)
    assert "--only=firestore:rules,firestore:indexes" in rules
    assert "--only=functions,hosting" in functions
    ready = next(i for i, line in enumerate(lines) if "state!=READY" in line)
    assert lines.index(rules) < ready < lines.index(functions), "indexes READY before any pass"
    assert "compileall" in lines[0]
    assert not [line for line in lines if "gcloud functions" in line or "scheduler jobs" in line]
    assert not [line for line in lines if " alpha " in line or " beta " in line]
    assert all("--project=acme-billing-prod" in line for line in firebase_lines(deploy))


def test_the_environment_names_region_database_and_the_invokers_of_each_role(
    deploy: Plan, config: DeployConfig
) -> None:
    env = dotenv_of(deploy)
    assert env["BILLING_REGION"] == "asia-south1"
    assert env["FIRESTORE_DATABASE"] == "(default)"
    assert env["METERING_SERVICE_ACCOUNTS"] == ",".join(config.metering_accounts)
    assert env["SCHEDULER_SERVICE_ACCOUNTS"] == config.scheduler_account
    # What discovery reads is what the functions run with.
    target = DeployTarget.read(env)
    for function in HTTP_FUNCTIONS:
        expected = "public" if function.auth is not Auth.SERVICE else None
        invoker = target.invoker(function)
        if expected:
            assert invoker == expected, function.name
        else:
            assert set(invoker) <= set(config.service_accounts) and invoker, function.name


def test_private_functions_accept_the_service_audience(deploy: Plan) -> None:
    private = {f.name.replace("_", "-") for f in HTTP_FUNCTIONS if f.behind_iam}
    updated = {
        shlex.split(s.line)[4]
        for s in deploy.steps
        if "--add-custom-audiences=https://billing.acme.example" in s.line
    }
    assert updated == private


def test_hosting_rewrites_only_public_endpoints_in_the_configured_region(deploy: Plan) -> None:
    config = firebase_json_of(deploy)
    rewrites = config["hosting"]["rewrites"]
    private = {f.name for f in HTTP_FUNCTIONS if f.auth is Auth.SERVICE}
    routed = {r["function"]["functionId"] for r in rewrites}
    assert routed == {f.name for f in HTTP_FUNCTIONS} - private
    assert {r["function"]["region"] for r in rewrites} == {"asia-south1"}
    assert config["firestore"] == {
        "rules": "firestore.rules",
        "indexes": "firestore.indexes.json",
    }
    assert not any("us-central1" in s.line for s in deploy.steps)


def test_a_named_database_flows_to_rules_indexes_triggers_and_code(config: DeployConfig) -> None:
    named = plan(replace(config, firestore_database="billing-prod"))
    assert firebase_json_of(named)["firestore"] == [
        {
            "database": "billing-prod",
            "rules": "firestore.rules",
            "indexes": "firestore.indexes.json",
        }
    ]
    assert dotenv_of(named)["FIRESTORE_DATABASE"] == "billing-prod"  # triggers and Settings
    assert any("--database=billing-prod" in s.line for s in named.steps)


def test_collections_that_expire_have_ttl_policies() -> None:
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())
    ttl = {
        (o["collectionGroup"], o["fieldPath"]) for o in indexes["fieldOverrides"] if o.get("ttl")
    }
    expiring = {"idempotency_keys", "rate_limits", "webhook_events"}
    assert {(c, "expires_at") for c in expiring} <= ttl


def test_no_secret_value_is_printed_or_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = {
        "STRIPE_SECRET_KEY": "sk_live_do_not_print",
        "RAZORPAY_KEY_SECRET": "rzp-hidden",
        "RAZORPAY_WEBHOOK_SECRET": "whsec-rzp",
        "STRIPE_WEBHOOK_SECRET": "whsec-stripe",
        "EVENT_SERVICE_SECRET": "event-hidden",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    assert main(["--env", str(edited_example(tmp_path))]) == 0
    out = capsys.readouterr().out
    written = "".join(plan(load(config_path("example"))).files.values())
    for value in secrets.values():
        assert value not in out and value not in written
    assert "firebase deploy" in out


def test_deploy_check_refuses_the_unedited_example_naming_each_placeholder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--env", "example", "--check"]) == 2
    err = capsys.readouterr().err
    for key in ("project", "scheduler_account", "settings.SERVICE_AUDIENCE", "RAZORPAY_KEY_ID"):
        assert key in err


def test_deploy_check_prints_the_one_time_setup_of_a_fresh_project(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--env", str(edited_example(tmp_path)), "--check"]) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if not line.startswith("#")]
    assert any(c.startswith("gcloud services enable") and "eventarc" in c for c in commands)
    assert any("databases create '--database=(default)'" in c for c in commands)
    assert any("--location=asia-south1" in c for c in commands)
    assert any("service-accounts create billing-scheduler" in c for c in commands)
    for role in ("roles/datastore.user", "roles/eventarc.eventReceiver", "roles/run.invoker"):
        assert any(role in c and "-compute@developer" in c for c in commands), role
    for secret in SECRET_FIELDS:
        assert any(f"gcloud secrets create {secret.upper()} " in c for c in commands), secret
    assert not [c for c in commands if " alpha " in c]


def test_the_web_sdk_bundle_is_built_before_hosting_uploads_the_portal(deploy: Plan) -> None:
    lines = [step.line for step in deploy.steps]
    (hosting,) = [i for i, line in enumerate(lines) if "--only=functions,hosting" in line]
    assert lines.index(SDK_BUILD) < hosting  # sdk/dist is not in git


# firebase-tools' own .env parser (lib/functions/env.js), where the firebase-check tool has
# installed it: the deploy reads .env.<project> with it and refuses reserved keys.
FIREBASE_TOOLS = Path("/work/shared/tools/firebase-check/.cache/node_modules/firebase-tools")
PARSE_ENV = """
const env = require(process.argv[1] + "/lib/functions/env.js");
let text = ""; process.stdin.on("data", (d) => (text += d));
process.stdin.on("end", () => console.log(JSON.stringify(env.parseStrict(text))));
"""


@pytest.mark.skipif(
    not (FIREBASE_TOOLS / "lib/functions/env.js").exists() or not shutil.which("node"),
    reason="firebase-tools is installed by /work/shared/tools/firebase-check (node needed)",
)
def test_firebase_reads_the_environment_file_as_written_and_accepts_every_key(
    deploy: Plan,
) -> None:
    (path,) = [p for p in deploy.files if p.name.startswith(".env.")]
    parsed = subprocess.run(
        ["node", "-e", PARSE_ENV, str(FIREBASE_TOOLS)],
        input=deploy.files[path],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(parsed.stdout) == dotenv_of(deploy)
    assert json.loads(parsed.stdout)["SERVICE_NAMES"].startswith('{"metering@')
