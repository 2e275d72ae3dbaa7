"""The scheduled passes run their domain calls on the emulator, as Cloud Scheduler runs them."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.stack import Stack
from functions import scheduled

pytestmark = pytest.mark.stack


class RecordingLog:
    def __init__(self) -> None:
        self.outcomes: dict[str, Any] = {}

    def info(self, message: str, extra: dict[str, Any]) -> None:
        self.outcomes[extra["pass"]] = extra["outcome"]


def test_every_pass_runs_its_domain_call_and_logs_what_it_did(
    stack_env: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = RecordingLog()
    monkeypatch.setattr(scheduled, "log", log)
    for function in scheduled.PASSES:
        scheduled.run_pass(function)
    assert isinstance(log.outcomes["holds_expire"]["expired"], int)
    assert isinstance(log.outcomes["grants_expire"]["accounts"], int)
    assert isinstance(log.outcomes["reconcile"]["checked"], int)
