"""``make bench``: cold starts, Firestore round trips, warm latency, contention and memory.

Prints one table per section and writes the same figures as JSON (``--json``). Figures, not
verdicts: targets are printed beside them. ``--smoke`` runs each section tiny (part of make test).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.measure import ROOT, cold_start, import_time, median, percentile, rss_kib, serve_function
from bench.rpc import counting_client
from devstack.stack import Ports, Stack
from functions.registry import HTTP_FUNCTIONS, Auth
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.errors import InsufficientCredits
from shared.ledger import EntryType, Posting, invariant_violations

FLOORS = ROOT / "bench" / "floors.py"
MAIN = ROOT / "main.py"


class Report:
    def __init__(self) -> None:
        self.sections: dict[str, list[dict[str, Any]]] = {}

    def table(self, section: str, rows: list[dict[str, Any]]) -> None:
        self.sections[section] = rows
        print(f"\n## {section}")
        if not rows:
            print("(nothing measured)")
            return
        columns = list(dict.fromkeys(c for row in rows for c in row))
        widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns))
        for row in rows:
            print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
        sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def sign_up(stack: Stack) -> tuple[str, str]:
    body = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=bench",
        json={
            "email": f"b-{uuid.uuid4().hex[:10]}@bench.test",
            "password": "bench-pass-1",
            "returnSecureToken": True,
        },
        timeout=10,
    ).json()
    return body["localId"], body["idToken"]


def floor_for(auth: Auth, module: str) -> str:
    if "stripe" in module or module.endswith(("refunds", "payments_stripe")):
        return "floor_firestore_auth_stripe"
    if auth in (Auth.USER, Auth.ADMIN):
        return "floor_firestore_auth"
    return "floor_firestore"


def section_cold_start(report: Report, stack: Stack, runs: int, smoke: bool) -> None:
    floor_imports = "import functions_framework, google.cloud.firestore, firebase_admin.auth"
    report.table(
        "import cost (whole process, median s)",
        [
            {"what": "bare interpreter", "seconds": import_time("pass", runs)},
            {
                "what": "functions_framework + firestore + firebase_admin.auth (floor)",
                "seconds": import_time(floor_imports, runs),
            },
            {"what": "import main", "seconds": import_time("import main", runs)},
        ],
    )
    _, token = sign_up(stack)
    env = stack.client_env()
    headers = {"Authorization": f"Bearer {token}"}
    # Functions answerable by a plain GET (no body, no path ids); the rest need scenario set-up.
    candidates = [
        f
        for f in HTTP_FUNCTIONS
        if "GET" in f.methods and "{" not in f.path and f.auth in (Auth.NONE, Auth.USER)
    ]
    if smoke:
        candidates = candidates[:1]
    floors: dict[str, float] = {}
    rows = []
    for function in candidates:
        floor = floor_for(function.auth, function.module)

        def get(url: str, path: str = function.path) -> requests.Response:
            return requests.get(url + path, headers=headers, timeout=30)

        if floor not in floors:
            floors[floor] = median([cold_start(floor, FLOORS, env, get) for _ in range(runs)])
        seconds = median([cold_start(function.name, MAIN, env, get) for _ in range(runs)])
        rows.append(
            {
                "function": function.name,
                "cold_start_s": seconds,
                "floor": floor,
                "floor_s": floors[floor],
                "ratio": seconds / floors[floor],
                "target": "<= 1.2",
            }
        )
    report.table(f"cold start: new process -> first 200 (median of {runs})", rows)


def section_rpc_counts(report: Report, stack: Stack) -> None:
    from bench.inprocess import invoke, wire_with_client

    client, counter = counting_client(stack.project)
    services = wire_with_client(client)
    uid, token = sign_up(stack)
    headers = {"Authorization": f"Bearer {token}"}
    services.ledger.append(uid, [Posting(EntryType.GRANT, 10_000)])
    rows = []
    with counter.measuring():
        invoke("credits_balance", "GET", path="/api/v1/credits/balance", headers=headers)
    rows.append(
        {
            "operation": "balance read",
            "rpcs": counter.total,
            "writes": counter.writes,
            "target": "1",
        }
    )
    with counter.measuring():
        services.ledger.append(uid, [Posting(EntryType.USAGE, -10)], effect_key=f"bench:{uid}:1")
    rows.append(
        {
            "operation": "usage deduction (ledger)",
            "rpcs": counter.total,
            "writes": counter.writes,
            "target": "<= 2",
        }
    )
    with counter.measuring():
        services.ledger.append(uid, [Posting(EntryType.USAGE, -10)], effect_key=f"bench:{uid}:1")
    rows.append(
        {
            "operation": "replayed effect",
            "rpcs": counter.total,
            "writes": counter.writes,
            "target": "<= 1, no writes",
        }
    )
    report.table("Firestore RPCs per operation", rows)


def section_latency(report: Report, stack: Stack, requests_per_case: int) -> None:
    process, hello_url = serve_function("hello", FLOORS, stack.client_env())
    try:
        _wait_ok(hello_url)
        _, token = sign_up(stack)
        headers = {"Authorization": f"Bearer {token}"}
        cases = {
            "hello world (same server kind)": (hello_url + "/", {}),
            "balance read (gateway)": (f"{stack.gateway_url}/api/v1/credits/balance", headers),
            "health (gateway)": (f"{stack.gateway_url}/api/v1/health/live", {}),
        }
        rows = []
        for name, (url, hdrs) in cases.items():
            for concurrency in (1, 8):
                samples = _timed_gets(url, hdrs, requests_per_case, concurrency)
                rows.append(
                    {
                        "case": name,
                        "concurrency": concurrency,
                        "p50_ms": percentile(samples, 50) * 1000,
                        "p99_ms": percentile(samples, 99) * 1000,
                    }
                )
        report.table(f"warm latency ({requests_per_case} requests per row)", rows)
    finally:
        process.kill()
        process.wait()


def _wait_ok(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise TimeoutError(url)


def _timed_gets(url: str, headers: dict[str, str], count: int, concurrency: int) -> list[float]:
    session = requests.Session()
    session.get(url, headers=headers, timeout=30)  # warm

    def one(_: int) -> float:
        start = time.perf_counter()
        response = session.get(url, headers=headers, timeout=30)
        response.raise_for_status()
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, range(count)))


def section_contention(report: Report, stack: Stack, accounts: int, events: int) -> None:
    from google.cloud import firestore

    client = firestore.Client(project=f"demo-bench-{uuid.uuid4().hex[:8]}")
    rows = []
    # 50 concurrent deductions of 10 on one account holding 100, from 50 racing "instances".
    racers = [FirestoreLedger(client) for _ in range(50)]
    racers[0].append("hot", [Posting(EntryType.GRANT, 100)])

    def spend(i: int) -> str:
        try:
            racers[i].append("hot", [Posting(EntryType.USAGE, -10)])
        except InsufficientCredits:
            return "refused"
        return "spent"

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(spend, range(50)))
    entries = racers[0].entries("hot")
    rows.append(
        {
            "scenario": "50 concurrent deductions, one account",
            "seconds": time.perf_counter() - start,
            "succeeded": outcomes.count("spent"),
            "retries": sum(r.conflicts for r in racers),
            "final_balance": entries[-1].balance_after,
            "invariant_violations": len(invariant_violations(entries)),
        }
    )
    # Usage events over many accounts with 8 workers sharing one instance's ledger.
    ledger = FirestoreLedger(client)
    for n in range(accounts):
        ledger.append(f"acct-{n}", [Posting(EntryType.GRANT, events)])

    def use(i: int) -> None:
        ledger.append(
            f"acct-{i % accounts}", [Posting(EntryType.USAGE, -1)], effect_key=f"bench-event-{i}"
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(use, range(events)))
    elapsed = time.perf_counter() - start
    spent = sum(events - ledger.head(f"acct-{n}").balance for n in range(accounts))
    rows.append(
        {
            "scenario": f"{events} usage events over {accounts} accounts, 8 workers",
            "seconds": elapsed,
            "succeeded": spent,
            "retries": ledger.conflicts,
            "final_balance": None,
            "invariant_violations": events - spent,
            "events_per_s": events / elapsed,
        }
    )
    report.table("contention (ledger adapter on the emulator)", rows)


def section_memory(report: Report, stack: Stack, checkpoints: tuple[int, ...]) -> None:
    process, url = serve_function("credits_balance", MAIN, stack.client_env())
    try:
        _, token = sign_up(stack)
        headers = {"Authorization": f"Bearer {token}"}
        _wait_ok_with(url + "/api/v1/credits/balance", headers)
        session = requests.Session()
        rows = [{"requests": 1, "rss_kib": rss_kib(process.pid)}]
        done = 1
        for checkpoint in checkpoints:
            while done < checkpoint:
                session.get(url + "/api/v1/credits/balance", headers=headers, timeout=30)
                done += 1
            rows.append({"requests": checkpoint, "rss_kib": rss_kib(process.pid)})
        report.table("memory of one function process (credits_balance)", rows)
    finally:
        process.kill()
        process.wait()


def _wait_ok_with(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise TimeoutError(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny run of every section")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    report = Report()
    stack = Stack(ports=Ports.free(), state_dir=Path(tempfile.mkdtemp(prefix="bench-stack-")))
    stack.start()
    os.environ.update(stack.client_env())
    try:
        section_cold_start(report, stack, runs, args.smoke)
        section_rpc_counts(report, stack)
        section_latency(report, stack, 20 if args.smoke else 400)
        section_contention(report, stack, *((5, 50) if args.smoke else (100, 1000)))
        section_memory(report, stack, (50, 100) if args.smoke else (1000, 5000))
    finally:
        stack.stop()
    args.json.write_text(json.dumps(report.sections, indent=2, default=str) + "\n")
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
