"""The deploy plan covers every registered function exactly once and prints no secret."""

from __future__ import annotations

import pytest

from functions.registry import HTTP_FUNCTIONS, TRIGGER_FUNCTIONS
from ops.deploy import main


def test_every_function_is_deployed_exactly_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", "demo-prod"]) == 0
    lines = capsys.readouterr().out.splitlines()
    deployed = [line.split()[3] for line in lines if line.startswith("gcloud functions deploy")]
    expected = [f.name for f in HTTP_FUNCTIONS] + [f.name for f in TRIGGER_FUNCTIONS]
    assert sorted(deployed) == sorted(expected)
    assert len(set(deployed)) == len(deployed)
    assert any(line.startswith("firebase deploy") for line in lines)
    for line in lines:
        if line.startswith("gcloud"):
            name = line.split()[3]
            assert f"--entry-point={name}" in line
            assert "--runtime=python311" in line


def test_no_secret_value_is_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "STRIPE_SECRET_KEY": "sk_live_do_not_print",
        "RAZORPAY_KEY_SECRET": "rzp-hidden",
        "RAZORPAY_WEBHOOK_SECRET": "whsec-rzp",
        "STRIPE_WEBHOOK_SECRET": "whsec-stripe",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    main(["--project", "demo-prod"])
    out = capsys.readouterr().out
    for value in secrets.values():
        assert value not in out
    assert "--set-secrets=" in out


def test_each_function_gets_the_secrets_of_the_providers_it_talks_to() -> None:
    from ops.deploy import MODULE_SECRETS, secrets_for

    modules = {f.module for f in HTTP_FUNCTIONS} | {f.module for f in TRIGGER_FUNCTIONS}
    assert set(MODULE_SECRETS) <= modules, "a secrets entry names no registered module"
    by_name = {f.name: f.module for f in HTTP_FUNCTIONS}
    # Credit purchases sell through Razorpay or Stripe, so they need both keys.
    assert {"RAZORPAY_KEY_SECRET", "STRIPE_SECRET_KEY"} <= set(
        secrets_for(by_name["credits_purchase"])
    )
    assert secrets_for(by_name["credits_balance"]) == {}
    assert "RAZORPAY_KEY_SECRET" not in secrets_for(by_name["stripe_payment_process"])


def test_the_deploy_compiles_the_source_first(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--project", "demo-prod"])
    first = capsys.readouterr().out.splitlines()[0]
    assert "compileall" in first and "checked-hash" in first
    assert first.startswith("python3.11 ")  # the cache tag must match --runtime=python311
