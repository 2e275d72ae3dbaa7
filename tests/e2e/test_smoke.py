"""`make smoke` runs against a local stack the same way it runs against production."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devstack.stack import Stack
from ops.smoke import dev_target, run

pytestmark = pytest.mark.stack


def test_every_smoke_step_passes_against_the_local_stack(stack: Stack) -> None:
    lines: list[str] = []
    outcomes = run(dev_target(stack), say=lines.append)
    assert [o.step for o in outcomes] == [
        "health",
        "user read",
        "usage charge through IAM",
        "scheduler run",
        "signed test webhook",
    ]
    assert all(o.passed for o in outcomes), lines


def test_a_broken_step_is_reported_failed_and_the_others_still_run(stack: Stack) -> None:
    target = dev_target(stack)
    wrong = replace(target, stripe_webhook_secret=lambda: "whsec_not_the_secret")
    outcomes = {o.step: o for o in run(wrong, say=lambda _: None)}
    assert not outcomes["signed test webhook"].passed
    assert outcomes["health"].passed and outcomes["scheduler run"].passed
