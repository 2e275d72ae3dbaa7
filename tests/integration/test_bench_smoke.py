"""A tiny run of the benchmark code, so that `make bench` cannot rot unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack


def test_bench_smoke_run_prints_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sections = json.loads(out.read_text())
    assert any(name.startswith("cold start") for name in sections)
    rpc = {row["operation"]: row for row in sections["Firestore RPCs per operation"]}
    assert rpc["balance read"]["rpcs"] >= 1
    contention = sections["contention (HTTP through the gateway)"]
    hot, spread = contention
    assert (hot["succeeded"], hot["final_balance"], hot["invariant_violations"]) == (10, 0, 0)
    assert spread["lost"] == 0
