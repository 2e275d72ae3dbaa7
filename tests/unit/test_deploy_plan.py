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
