"""A tiny run of ``bench.relay_listen``, the measurement behind the trigger relay's polling.

It also keeps the reason current: the relay polls because Google's emulator sends a listened
collection again, whole, on every write to it (devstack/trigger_relay.py). When that stops being
true, this test fails: measure Listen again (the module's docstring says how).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.measure import ROOT


def test_the_emulator_sends_a_listened_collection_again_on_every_write() -> None:
    prefill = 50
    result = subprocess.run(
        [sys.executable, "-m", "bench.relay_listen", "--mode", "raw", "--prefill", str(prefill),
         "--rate", "20", "--seconds", "0.5"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "client")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads(result.stdout.splitlines()[-1])
    assert (run["prefill_delivered"], run["written"], run["undelivered"]) == (prefill, 10, 0)
    assert run["seen_twice"] == 0
    assert run["received_per_commit"] > prefill  # every write: the whole collection again
