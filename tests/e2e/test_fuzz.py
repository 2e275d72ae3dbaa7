"""A short, seeded schemathesis run over every endpoint (``make fuzz`` runs the long one)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devstack.stack import Stack

pytestmark = pytest.mark.stack


def test_fuzzing_finds_no_server_error_no_contract_break_and_no_ledger_damage(
    stack: Stack,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack.fuzz",
            "--gateway",
            stack.gateway_url,
            "--service-key",
            str(stack.service_key_path),
            "--max-examples",
            "8",
            "--seed",
            "20261121",
        ],
        env={**os.environ, **stack.client_env()},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, summary
    assert "ledger audit after fuzzing" in result.stdout
    assert "0 problems" in result.stdout
    for name in ("user", "admin", "service", "scheduler", "public"):
        assert f"=== fuzz pass {name}: exit 0" in result.stdout, summary
