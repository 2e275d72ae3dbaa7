"""The stack's tools, run before `make dev`: one line saying so and how to start it, at once.

Nothing listens on the ports these tests pick, as on a fresh clone where the stack was never
started: `make audit` used to wait forever on the Firestore client's retries, and the token
targets printed requests' 60-line traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack import tokens
from devstack.processes import free_port
from devstack.service_tokens import generate_key
from devstack.stack import ROOT, Ports, Stack

QUICKLY = 5.0  # seconds: refused connections answer at once; this leaves room for imports


def assert_says_start_the_stack(message: str) -> None:
    assert len(message.strip().splitlines()) == 1, message
    assert "not running" in message and "make dev" in message, message


def test_the_audit_says_the_stack_is_not_running_instead_of_waiting() -> None:
    environ = os.environ | {"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{free_port()}"}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ops.audit"],
            check=False,
            env=environ,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the audit still waits for a Firestore emulator that is not there")
    assert time.monotonic() - started < QUICKLY
    assert done.returncode not in (0, 1)  # 1 means "the ledger has problems"
    assert done.stdout == ""
    assert_says_start_the_stack(done.stderr)


@pytest.mark.parametrize("kind", ["user", "admin", "service"])
def test_a_token_needs_the_stack_and_says_so_in_one_line(kind: str, tmp_path: Path) -> None:
    stopped = Stack(ports=Ports.free(), state_dir=tmp_path)
    generate_key(stopped.service_key_path)  # left behind by an earlier `make dev`
    started = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        tokens.main([kind], stack=stopped)
    assert time.monotonic() - started < QUICKLY
    assert isinstance(exited.value.code, str)  # Python prints it to stderr and exits 1
    assert_says_start_the_stack(exited.value.code)
