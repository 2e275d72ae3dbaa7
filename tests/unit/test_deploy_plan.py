"""The deploy plan ships a service that can work: every function with every setting it reads,
private service endpoints, scheduler jobs, triggers and hosting in one region, and no secret."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from pydantic import SecretStr

from functions.registry import HTTP_FUNCTIONS, SCHEDULED_JOBS, TRIGGER_FUNCTIONS, Auth
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


def deploy_lines(deploy: Plan) -> dict[str, list[str]]:
    """Each deployed function's `gcloud functions deploy` arguments."""
    commands = [shlex.split(s.line) for s in deploy.steps]
    return {c[3]: c for c in commands if c[:3] == ["gcloud", "functions", "deploy"]}


def env_of(deploy: Plan, args: list[str]) -> dict[str, str]:
    (flag,) = [a for a in args if a.startswith("--env-vars-file=")]
    path = ROOT / flag.split("=", 1)[1]
    return dict(
        json.loads(
            "{"
            + ",".join(
                f'"{k}": {v}'
                for k, v in (line.split(": ", 1) for line in deploy.files[path].splitlines())
            )
            + "}"
        )
    )


def secrets_of(args: list[str]) -> set[str]:
    flags = [a.split("=", 1)[1] for a in args if a.startswith("--set-secrets=")]
    return {pair.split("=")[0] for flag in flags for pair in flag.split(",")}


def reads(name: str) -> frozenset[str]:
    for function in HTTP_FUNCTIONS:
        if function.name == name:
            return settings_read_by_http_function(function.module, function.name)
    for trigger in TRIGGER_FUNCTIONS:
        if trigger.name == name:
            return settings_read_by_function(trigger.module, trigger.name)
    raise KeyError(name)


def test_every_function_is_deployed_exactly_once_after_compiling(deploy: Plan) -> None:
    deployed = [shlex.split(s.line)[3] for s in deploy.steps if "functions deploy" in s.line]
    expected = [f.name for f in HTTP_FUNCTIONS] + [f.name for f in TRIGGER_FUNCTIONS]
    assert sorted(deployed) == sorted(expected)
    first = deploy.steps[0].line
    assert "compileall" in first and "checked-hash" in first
    assert first.startswith("python3.11 ")  # the cache tag must match --runtime=python311
    for name, args in deploy_lines(deploy).items():
        assert f"--entry-point={name}" in args and "--runtime=python311" in args


def test_every_function_gets_every_setting_it_reads(deploy: Plan) -> None:
    for name, args in deploy_lines(deploy).items():
        env, secrets = env_of(deploy, args), secrets_of(args)
        read = {f.upper() for f in reads(name)}
        needed = {f.upper() for f in REQUIRED_IN_PRODUCTION} & read
        assert needed <= set(env), f"{name} reads {needed - set(env)} but is not given them"
        assert {f.upper() for f in SECRET_FIELDS} & read == secrets, name
        assert env["FIREBASE_PROJECT_ID"] == "acme-billing-prod"
        assert not set(env) & {f.upper() for f in SECRET_FIELDS}, f"{name}: a secret in plain env"


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


def test_functions_that_only_read_orders_or_payments_get_no_payment_provider_secret(
    deploy: Plan,
) -> None:
    # Least privilege: they share a module (and a wiring) with functions that call providers.
    lines = deploy_lines(deploy)
    for name in ("credits_orders", "payments_status", "stripe_payment_get", "stripe_refund_get"):
        assert secrets_of(lines[name]) & PROVIDER_SECRETS == set(), name


def test_functions_that_serve_one_provider_get_only_that_providers_secrets(deploy: Plan) -> None:
    lines = deploy_lines(deploy)
    assert "STRIPE_SECRET_KEY" not in secrets_of(lines["payments_verify"])  # Razorpay's verify
    assert "STRIPE_SECRET_KEY" not in secrets_of(lines["webhooks_razorpay"])
    assert not {"RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET"} & secrets_of(
        lines["stripe_webhook"]
    )


def test_functions_that_call_a_payment_provider_keep_its_secret(deploy: Plan) -> None:
    lines = deploy_lines(deploy)
    assert {"RAZORPAY_KEY_SECRET", "STRIPE_SECRET_KEY"} <= secrets_of(lines["credits_purchase"])
    assert "RAZORPAY_KEY_SECRET" in secrets_of(lines["payments_verify"])
    for name in (
        "stripe_payment_process",
        "stripe_payment_verify",
        "stripe_refund_process",
        "stripe_refund_verify",
    ):
        assert "STRIPE_SECRET_KEY" in secrets_of(lines[name]), name
    assert "RAZORPAY_WEBHOOK_SECRET" in secrets_of(lines["webhooks_razorpay"])
    assert "STRIPE_WEBHOOK_SECRET" in secrets_of(lines["stripe_webhook"])


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


def test_service_endpoints_are_private_with_exactly_their_callers(
    deploy: Plan, config: DeployConfig
) -> None:
    lines = deploy_lines(deploy)
    scheduled = {job.function for job in SCHEDULED_JOBS}
    for function in HTTP_FUNCTIONS:
        args = lines[function.name]
        private = function.auth is Auth.SERVICE
        assert ("--no-allow-unauthenticated" in args) is private, function.name
        assert ("--allow-unauthenticated" in args) is not private, function.name
        policies = [p for p in deploy.files if p.parent.name == "iam" and p.stem == function.name]
        if not private:
            assert policies == []
            continue
        (policy,) = policies
        members = json.loads(deploy.files[policy])["bindings"][0]["members"]
        expected = (
            [config.scheduler_account]
            if function.name in scheduled
            else list(config.metering_accounts)
        )
        assert members == [f"serviceAccount:{a}" for a in expected]
        env = env_of(deploy, args)  # the code's own allow-lists are the same accounts
        assert env["METERING_SERVICE_ACCOUNTS"] == ",".join(config.metering_accounts)
        assert env["SCHEDULER_SERVICE_ACCOUNTS"] == config.scheduler_account
        service = function.name.replace("_", "-")
        assert any(
            f"run services set-iam-policy {service} {policy.relative_to(ROOT)}" in s.line
            for s in deploy.steps
        )
        assert any(
            f"run services update {service}" in s.line
            and "--add-custom-audiences=https://billing.acme.example" in s.line
            for s in deploy.steps
        )


def test_hosting_rewrites_only_public_endpoints_in_the_configured_region(deploy: Plan) -> None:
    (hosting,) = [p for p in deploy.files if p.name.startswith(".firebase.")]
    rewrites = json.loads(deploy.files[hosting])["hosting"]["rewrites"]
    private = {f.name for f in HTTP_FUNCTIONS if f.auth is Auth.SERVICE}
    routed = {r["function"]["functionId"] for r in rewrites}
    assert routed == {f.name for f in HTTP_FUNCTIONS} - private
    assert {r["function"]["region"] for r in rewrites} == {"asia-south1"}
    assert any(f"--config={hosting.name}" in s.line for s in deploy.steps)
    assert not any("us-central1" in s.line for s in deploy.steps)


def test_scheduler_jobs_call_their_endpoints_with_the_scheduler_token(
    deploy: Plan, config: DeployConfig
) -> None:
    for job in SCHEDULED_JOBS:
        (step,) = [s for s in deploy.steps if f"scheduler jobs describe {job.function} " in s.line]
        # create when missing, update when there: re-running the deploy does not fail
        assert step.line.startswith("if gcloud scheduler jobs describe")
        assert f"jobs update http {job.function} " in step.line
        assert f"jobs create http {job.function} " in step.line
        assert f"--oidc-service-account-email={config.scheduler_account}" in step.line
        assert "--oidc-token-audience=https://billing.acme.example" in step.line
        assert shlex.quote(f"--schedule={job.schedule}") in step.line
        assert (
            f"--uri=https://asia-south1-acme-billing-prod.cloudfunctions.net/{job.function}/"
            in step.line
        )


def test_triggers_are_gen2_firestore_triggers_with_retry(deploy: Plan) -> None:
    lines = deploy_lines(deploy)
    for trigger in TRIGGER_FUNCTIONS:
        args = lines[trigger.name]
        assert f"--trigger-event-filters=type={trigger.event_type}" in args
        assert "--trigger-event-filters=database=(default)" in args
        assert f"--trigger-event-filters-path-pattern=document={trigger.document}" in args
        assert "--trigger-location=asia-south1" in args
        assert "--retry" in args


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
    assert main(["--env", "example"]) == 0
    out = capsys.readouterr().out
    written = "".join(plan(load(config_path("example"))).files.values())
    for value in secrets.values():
        assert value not in out and value not in written
    assert "--set-secrets=" in out


def test_the_web_sdk_bundle_is_built_before_hosting_uploads_the_portal(deploy: Plan) -> None:
    lines = [step.line for step in deploy.steps]
    (hosting,) = [i for i, line in enumerate(lines) if "--only=firestore:rules" in line]
    assert lines.index(SDK_BUILD) < hosting  # sdk/dist is not in git
