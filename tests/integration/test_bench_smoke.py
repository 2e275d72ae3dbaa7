"""A tiny run of the benchmark code, so that `make bench` cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.measure import ROOT

pytestmark = pytest.mark.stack


def test_bench_smoke_run_prints_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        # `make bench` puts the service client (client/, its own package) on the path too.
        env={**os.environ, "PYTHONPATH": str(ROOT / "client")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sections = json.loads(out.read_text())
    assert any(name.startswith("cold start") for name in sections)
    rpc = {row["operation"]: row for row in sections["Firestore RPCs per operation"]}
    assert rpc["balance read"]["rpcs"] >= 1
    # Grants ride on the head: a charge costs the same with the most open grants an account has.
    crowded = next(row for name, row in rpc.items() if name.endswith("open grants"))
    plain = rpc["usage deduction (uncontended)"]
    assert (crowded["rpcs"], crowded["writes"]) == (plain["rpcs"], plain["writes"])
    assert (rpc["credits check"]["rpcs"], rpc["credits check"]["writes"]) == (1, 0)
    contention = sections["contention (HTTP through the gateway)"]
    hot, spread = contention
    assert (hot["succeeded"], hot["final_balance"], hot["invariant_violations"]) == (10, 0, 0)
    assert spread["lost"] == 0
    costs = {row["operation"]: row for row in _section(sections, "cost per call")}
    charge = costs["usage charge"]
    # Read (head, effect, claim); one commit (claim, entry, effect record, account document);
    # the alert trigger on the account document, deciding from the event alone.
    assert (charge["round_trips"], charge["reads"], charge["writes"]) == (2, 3, 4)
    assert (charge["trigger_reads"], charge["trigger_writes"]) == (0, 0)
    assert charge["invocations"] == 2 and charge["seed_round_trips"] == 3
    assert charge["hottest_document_writes"] == 1
    assert costs["webhook replay"]["writes"] == 0
    clients = _section(sections, "service client")
    assert all(row["failed"] == 0 for row in clients)
    assert all(row["hottest_document_writes_per_s"] > 0 for row in clients)
    assert {row["how"] for row in clients} == {
        "one call per event",
        "client, batched (100 / 50 ms)",
        "budget: a hold per 3 s period, metered locally",
    }
    [budget] = [row for row in clients if row["how"].startswith("budget")]
    assert (budget["overspend"], budget["invariant_violations"]) == (0, 0)
    assert budget["event_ids_recorded_once"] is True
    gateway = _section(sections, "throughput against the limit")[1]
    assert gateway["share_of_emulator_commit_rate"] > 0


def _section(sections: dict[str, list[dict[str, Any]]], prefix: str) -> list[dict[str, Any]]:
    [name] = [name for name in sections if name.startswith(prefix)]
    return sections[name]
