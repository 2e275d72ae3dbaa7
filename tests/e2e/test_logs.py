"""Logs: structured JSON in Cloud Logging's format, and never a secret or token in them."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import ISSUED_SECRETS, User

pytestmark = pytest.mark.stack


def log_lines(stack: Stack) -> list[str]:
    return (stack.state_dir / "gateway.log").read_text(errors="replace").splitlines()


def test_each_request_logs_one_structured_line_with_trace(
    stack: Stack, gateway: str, user: User
) -> None:
    trace_id = uuid.uuid4().hex
    request_id = f"req-{uuid.uuid4().hex}"
    requests.get(
        f"{gateway}/api/v1/credits/balance",
        headers={
            **user.headers,
            "X-Cloud-Trace-Context": f"{trace_id}/1;o=1",
            "X-Request-Id": request_id,
        },
        timeout=10,
    ).raise_for_status()
    entries = [json.loads(line) for line in log_lines(stack) if request_id in line]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["severity"] == "INFO"
    assert entry["message"] == "request"
    assert entry["correlation_id"] == request_id
    assert entry["logging.googleapis.com/trace"] == f"projects/{stack.project}/traces/{trace_id}"
    assert (entry["function"], entry["status"]) == ("credits_balance", 200)


@pytest.mark.after_everything
def test_no_secret_or_token_was_ever_logged(stack: Stack) -> None:
    secrets = set(ISSUED_SECRETS)
    secrets |= {
        value
        for name, value in stack.client_env().items()
        if ("SECRET" in name or name.endswith("_KEY")) and len(value) >= 8
    }
    logs = {path.name: path.read_text(errors="replace") for path in stack.state_dir.glob("*.log")}
    assert "gateway.log" in logs
    leaks = [
        (name, secret[:12])
        for name, text in logs.items()
        if name != "auth.log"
        for secret in secrets
        if secret in text
    ]
    assert leaks == [], f"secrets found in logs: {leaks}"
    print(f"scanned {len(logs)} logs for {len(secrets)} secrets and tokens: none found")
