"""``make bench``: cold starts, Firestore round trips, warm latency, contention and memory.

Prints one table per section and writes the same figures as JSON (``--json``). Figures, not
verdicts: targets are printed beside them. ``--smoke`` runs each section tiny (part of make test).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from google.cloud import firestore

from bench import costs, throughput
from bench.callers import service_headers, sign_up
from bench.measure import ROOT, cold_start, import_time, median, percentile, rss_kib, serve_function
from bench.report import Report
from bench.rpc import counting_client
from devstack.stack import Ports, Stack
from functions.registry import HTTP_FUNCTIONS, Auth
from ops.bytecode import compile_sources
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import MAX_OPEN_GRANTS, GrantCategory, GrantTerms
from shared.ledger.invariants import invariant_violations

FLOORS = ROOT / "bench" / "floors.py"
MAIN = ROOT / "main.py"


def floor_for(auth: Auth, module: str) -> str:
    if "stripe" in module or module.endswith(("refunds", "payments_stripe")):
        return "floor_firestore_auth_stripe"
    if auth in (Auth.USER, Auth.ADMIN):
        return "floor_firestore_auth"
    if auth is Auth.SERVICE:
        return "floor_firestore_service"
    return "floor_firestore"


def section_cold_start(report: Report, stack: Stack, runs: int, smoke: bool) -> None:
    # As deployed: our modules (and the floors) load from compiled bytecode, like the SDKs do.
    compile_sources(FLOORS)
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
    uid, token = sign_up(stack)
    FirestoreLedger(firestore.Client(project=stack.project)).append(
        uid, [Posting(EntryType.GRANT, 10_000_000)]
    )
    env = stack.client_env()
    user = {"Authorization": f"Bearer {token}"}
    svc = service_headers(stack)

    def get(path: str, headers: dict[str, str]) -> Callable[[str], requests.Response]:
        return lambda url: requests.get(url + path, headers=headers, timeout=30)

    def usage(url: str) -> requests.Response:
        body: dict[str, Any] = {
            "user_id": uid,
            "service": "bench",
            "amount": 1,
            "event_id": uuid.uuid4().hex,
        }
        response = requests.post(url + "/api/v1/usage", json=body, headers=svc, timeout=30)
        return _as_ok(response) if response.status_code == 201 else response

    # One request per function that answers 200 with no set-up of its own, one per auth kind.
    cases: list[tuple[str, Callable[[str], requests.Response]]] = [
        ("health", get("/api/v1/health", {})),
        ("health_ready", get("/api/v1/health/ready", {})),
        ("openapi", get("/api/v1/openapi.json", {})),
        ("credits_balance", get("/api/v1/credits/balance", user)),
        ("credits_account", get("/api/v1/credits/account", user)),
        ("credits_packages", get("/api/v1/credits/packages", user)),
        ("credits_orders", get("/api/v1/credits/orders", user)),
        ("transactions_list", get("/api/v1/transactions", user)),
        ("usage_record", usage),
    ]
    registered = {f.name: f for f in HTTP_FUNCTIONS}
    cases = [case for case in cases if case[0] in registered]
    if smoke:
        cases = cases[:1]
    rows = []
    for name, request in cases:
        function = registered[name]
        floor = floor_for(function.auth, function.module)
        # Floor and function runs alternate, so that the machine's drift (a shared 2-core box)
        # lands on both sides of the ratio alike.
        floor_runs, function_runs = [], []
        for _ in range(runs):
            floor_runs.append(cold_start(floor, FLOORS, env, request))
            function_runs.append(cold_start(name, MAIN, env, request))
        seconds, floor_seconds = median(function_runs), median(floor_runs)
        rows.append(
            {
                "function": name,
                "cold_start_s": seconds,
                "floor": floor,
                "floor_s": floor_seconds,
                "ratio": seconds / floor_seconds,
                "target": "<= 1.2",
            }
        )
    report.table(f"cold start: new process -> first 200 (median of {runs})", rows)


def _as_ok(response: requests.Response) -> requests.Response:
    """Treat a 201 as the 'first 200' a cold start waits for."""
    response.status_code = 200
    return response


def section_rpc_counts(report: Report, stack: Stack) -> None:
    from bench.inprocess import invoke, wire_with_client

    client, counter = counting_client(stack.project)
    services = wire_with_client(client)
    uid, token = sign_up(stack)
    headers = {"Authorization": f"Bearer {token}"}
    services.ledger.append(uid, [Posting(EntryType.GRANT, 10_000)])
    svc = service_headers(stack)
    rows = []

    def measure(operation: str, target: str, call: Callable[[], object]) -> None:
        with counter.measuring():
            call()
        rows.append(
            {
                "operation": operation,
                "rpcs": counter.total,
                "writes": counter.writes,
                "target": target,
                "calls": dict(counter.calls),
            }
        )

    measure(
        "balance read",
        "1",
        lambda: invoke("credits_balance", "GET", path="/api/v1/credits/balance", headers=headers),
    )
    measure(
        "account read (balance, lifetime totals, settings)",
        "-",
        lambda: invoke("credits_account", "GET", path="/api/v1/credits/account", headers=headers),
    )
    usage = {"user_id": uid, "service": "bench", "amount": 10, "event_id": "bench-1"}
    measure(
        "usage deduction (uncontended)",
        "<= 2",
        lambda: invoke("usage_record", "POST", path="/api/v1/usage", headers=svc, json=usage),
    )
    measure(
        "usage replay",
        "<= 1, no writes",
        lambda: invoke("usage_record", "POST", path="/api/v1/usage", headers=svc, json=usage),
    )
    measure(
        "credits check",
        "1, no writes",
        lambda: invoke(
            "credits_check", "POST", path="/api/v1/credits/check", headers=svc,
            json={"user_id": uid, "amount": 5},
        ),
    )  # fmt: skip
    # The grants ride on the head: an account at the bound of open grants costs the same.
    crowded, _ = sign_up(stack)
    now = datetime.now(UTC)
    for day in range(1, MAX_OPEN_GRANTS + 1):
        terms = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=now + timedelta(days=day))
        services.ledger.append(crowded, [Posting(EntryType.GRANT, 100, grant=terms)])
    spend = {"user_id": crowded, "service": "bench", "amount": 250, "event_id": "crowded-1"}
    measure(
        f"usage deduction, {MAX_OPEN_GRANTS} open grants",
        "<= 2",
        lambda: invoke("usage_record", "POST", path="/api/v1/usage", headers=svc, json=spend),
    )
    measure(
        "void of that charge",
        "-",
        lambda: invoke(
            "usage_void", "POST", path="/api/v1/usage/crowded-1/void", headers=svc,
            json={"service": "bench"},
        ),
    )  # fmt: skip
    batch = {
        "events": [
            {"user_id": uid, "service": "bench", "amount": 1, "event_id": f"b-{n}"}
            for n in range(100)
        ]
    }
    measure(
        "batch of 100 usage events, one account",
        "<= 2",
        lambda: invoke("usage_batch", "POST", path="/api/v1/usage/batch", headers=svc, json=batch),
    )
    order = invoke(
        "credits_purchase",
        "POST",
        path="/api/v1/credits/purchase",
        headers=headers,
        json={"package_id": "starter"},
    ).get_json()
    paid = requests.post(
        f"{stack.razorpay_url}/_sandbox/orders/{order['provider_order_id']}/pay",
        json={"webhooks": False},
        timeout=10,
    ).json()
    measure(
        "purchase grant (checkout verify)",
        "-",
        lambda: invoke(
            "payments_verify", "POST", path="/api/v1/payments/verify", headers=headers, json=paid
        ),
    )
    measure(
        "purchase verify replay",
        "-",
        lambda: invoke(
            "payments_verify", "POST", path="/api/v1/payments/verify", headers=headers, json=paid
        ),
    )
    body, webhook_headers = _signed_razorpay_event(stack)
    invoke(
        "webhooks_razorpay",
        "POST",
        path="/api/v1/webhooks/razorpay",
        headers=webhook_headers,
        data=body,
    )
    measure(
        "webhook replay",
        "<= 1, no writes",
        lambda: invoke(
            "webhooks_razorpay",
            "POST",
            path="/api/v1/webhooks/razorpay",
            headers=webhook_headers,
            data=body,
        ),
    )
    report.table("Firestore RPCs per operation", rows)


def _signed_razorpay_event(stack: Stack) -> tuple[bytes, dict[str, str]]:
    import hashlib
    import hmac

    body = json.dumps(
        {
            "entity": "event",
            "event": "payment.authorized",
            "contains": ["payment"],
            "payload": {
                "payment": {
                    "entity": {
                        "id": f"pay_{uuid.uuid4().hex[:14]}",
                        "order_id": "order_none",
                        "amount": 100,
                        "currency": "INR",
                        "status": "authorized",
                    }
                }
            },
        }
    ).encode()
    signature = hmac.new(stack.razorpay_webhook_secret.encode(), body, hashlib.sha256)
    return body, {
        "X-Razorpay-Signature": signature.hexdigest(),
        "Content-Type": "application/json",
        "x-razorpay-event-id": f"evt_{uuid.uuid4().hex[:14]}",
    }


def _direct(call: Callable[[], object], samples: int) -> float:
    """Median seconds of ``call`` made in this process (the emulator's share of a request)."""
    call()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return median(times)


def pause_relay(stack: Stack) -> None:
    """Stop the stack's trigger relay for the rest of the run.

    The relay runs trigger functions against the same single-threaded emulator after every
    write; in production triggers run on their own instances against a scaled database.
    """
    relay = stack.processes.pop("relay", None)
    if relay is not None:
        relay.stop()


def section_costs(report: Report, stack: Stack, repeats: int, batch_size: int) -> None:
    """Documents and invocations per operation and what it sets off, priced; the seed beside."""
    pause_relay(stack)  # the triggers are delivered in this process, counted
    project = f"demo-cost-{uuid.uuid4().hex[:8]}"
    client, counter = counting_client(project)
    from bench.inprocess import wire_with_client

    services = wire_with_client(client)
    # Hundreds of in-process calls: their request logs would bury the tables.
    logging.getLogger("billing").setLevel(logging.WARNING)
    run = costs.CostRun(
        counter, costs.InProcessTriggers(project, firestore.Client(project=project), counter)
    )
    costs.run_operations(run, stack, services.ledger, repeats, batch_size)
    read, change = costs.measure_seed_primitives(client, counter, max(5, repeats * 10))
    report.table(
        "cost per call: Firestore documents and invocations, with what each call sets off "
        f"(triggers, outbox, webhooks), USD per million at list prices read {costs.PRICES_READ_ON}"
        "; beside it the seed's way (one read-modify-write transaction on a balance document)",
        run.rows(costs.seed_ways(read, change, batch_size)),
    )
    report.table(
        "list prices used (USD per million)",
        [{"unit": unit, "usd_per_million": usd} for unit, usd in costs.USD_PER_MILLION.items()],
    )


def section_latency(report: Report, stack: Stack, requests_per_case: int) -> None:
    pause_relay(stack)
    process, hello_url = serve_function("hello", FLOORS, stack.client_env())
    try:
        _wait_ok(hello_url)
        uid, token = sign_up(stack)
        headers = {"Authorization": f"Bearer {token}"}
        client = firestore.Client(project=stack.project)
        ledger = FirestoreLedger(client)
        # One account per worker: this measures latency, not same-account queueing.
        accounts = [f"lat-{uuid.uuid4().hex[:8]}-{n}" for n in range(8)]
        for account in [uid, *accounts]:
            ledger.append(account, [Posting(EntryType.GRANT, 10_000_000)])
        svc = service_headers(stack)
        session = requests.Session()
        counter = iter(range(10**9))

        def balance() -> requests.Response:
            return session.get(
                f"{stack.gateway_url}/api/v1/credits/balance", headers=headers, timeout=30
            )

        def usage() -> requests.Response:
            body: dict[str, Any] = {
                "user_id": accounts[next(counter) % 8],
                "service": "bench",
                "amount": 1,
                "event_id": uuid.uuid4().hex,
            }
            return session.post(
                f"{stack.gateway_url}/api/v1/usage", json=body, headers=svc, timeout=30
            )

        def hello() -> requests.Response:
            return session.get(hello_url + "/", timeout=30)

        # The same Firestore calls made directly from this process: what the emulator costs.
        from shared.adapters.firestore_accounts import FirestoreAccounts

        accounts_store = FirestoreAccounts(client)
        direct = {
            "balance read": _direct(lambda: accounts_store.snapshot(uid), requests_per_case),
            "usage deduction": _direct(
                lambda: ledger.append(
                    accounts[0], [Posting(EntryType.USAGE, -1)], effect_key=uuid.uuid4().hex
                ),
                requests_per_case,
            ),
        }
        cases = {"hello world (baseline)": hello, "balance read": balance, "usage deduction": usage}
        rows = []
        for concurrency in (1, 8):
            baseline = 0.0
            for name, call in cases.items():
                samples = _timed(call, requests_per_case, concurrency)
                p50 = percentile(samples, 50)
                baseline = p50 if name not in direct else baseline
                rpc_time = direct.get(name)
                own = p50 - baseline - (rpc_time or 0)
                rows.append(
                    {
                        "case": name,
                        "concurrency": concurrency,
                        "p50_ms": p50 * 1000,
                        "p99_ms": percentile(samples, 99) * 1000,
                        "emulator_calls_ms": rpc_time * 1000 if rpc_time else None,
                        "own_overhead_ms": own * 1000 if rpc_time else None,
                        "overhead_ratio": own / rpc_time if rpc_time else None,
                        "target": "<= 2" if rpc_time and concurrency == 1 else None,
                    }
                )
        report.table(
            f"warm latency ({requests_per_case} requests per row; trigger relay paused)", rows
        )
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


def _timed(call: Callable[[], requests.Response], count: int, concurrency: int) -> list[float]:
    call().raise_for_status()  # warm

    def one(_: int) -> float:
        start = time.perf_counter()
        call().raise_for_status()
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, range(count)))


def section_contention(report: Report, stack: Stack, accounts: int, events: int) -> None:
    """Through the gateway, as services would call it."""
    client = firestore.Client(project=stack.project)
    ledger = FirestoreLedger(client)
    svc = service_headers(stack)
    session = requests.Session()
    usage_url = f"{stack.gateway_url}/api/v1/usage"
    rows = []
    hot = f"hot-{uuid.uuid4().hex[:8]}"
    ledger.append(hot, [Posting(EntryType.GRANT, 100)])

    def spend(_: int) -> int:
        body: dict[str, Any] = {
            "user_id": hot,
            "service": "bench",
            "amount": 10,
            "event_id": uuid.uuid4().hex,
        }
        return session.post(usage_url, json=body, headers=svc, timeout=60).status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(spend, range(50)))
    entries = ledger.entries(hot)
    rows.append(
        {
            "scenario": "50 concurrent deductions of 10, one account holding 100",
            "seconds": time.perf_counter() - start,
            "succeeded": codes.count(201),
            "refused_402": codes.count(402),
            "other": len(codes) - codes.count(201) - codes.count(402),
            "final_balance": entries[-1].balance_after,
            "invariant_violations": len(invariant_violations(entries)),
        }
    )
    prefix = uuid.uuid4().hex[:8]
    for n in range(accounts):
        ledger.append(f"{prefix}-{n}", [Posting(EntryType.GRANT, events)])

    def use(i: int) -> int:
        body: dict[str, Any] = {
            "user_id": f"{prefix}-{i % accounts}",
            "service": "bench",
            "amount": 1,
            "event_id": f"{prefix}-{i}",
        }
        return session.post(usage_url, json=body, headers=svc, timeout=60).status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(use, range(events)))
    elapsed = time.perf_counter() - start
    spent = sum(events - ledger.head(f"{prefix}-{n}").balance for n in range(accounts))
    rows.append(
        {
            "scenario": f"{events} usage events over {accounts} accounts, 8 workers",
            "seconds": elapsed,
            "succeeded": codes.count(201),
            "other": len(codes) - codes.count(201),
            "lost": events - spent,
            "events_per_s": events / elapsed,
        }
    )
    report.table("contention (HTTP through the gateway)", rows)


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


SECTIONS = ["cold", "rpc", "cost", "latency", "contention", "throughput", "memory"]
# From the sections' sizes (9 functions x 9 cold starts of ~1 s each for floor and function,
# 1,000-event runs at 30-70 events/s, 5 throughput rows of 10 s, 5,000 memory requests).
BENCH_DURATION = "about 8 minutes on a 2-core machine (cold starts about 3 of them)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny run of every section")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument(
        "--only", nargs="*", choices=SECTIONS, default=SECTIONS, help="run only these sections"
    )
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    report = Report()
    started = time.monotonic()
    if not args.smoke:
        print(f"make bench: {BENCH_DURATION}; each table prints as its section ends", flush=True)
    # No background scheduled jobs: every RPC and millisecond measured is the measured call's.
    stack = Stack(
        ports=Ports.free(),
        state_dir=Path(tempfile.mkdtemp(prefix="bench-stack-")),
        run_scheduled_jobs=False,
    )
    stack.start()
    os.environ.update(stack.client_env())
    try:
        only = set(args.only)
        if "cold" in only:
            section_cold_start(report, stack, runs, args.smoke)
        if "rpc" in only:
            section_rpc_counts(report, stack)
        if "cost" in only:
            section_costs(report, stack, *((1, 10) if args.smoke else (5, 100)))
        if "latency" in only:
            section_latency(report, stack, 20 if args.smoke else 400)
        if "contention" in only:
            section_contention(report, stack, *((5, 50) if args.smoke else (100, 1000)))
        if "throughput" in only:
            throughput.section_ceiling(report)
            throughput.section_client(
                report,
                stack,
                *((40, 10) if args.smoke else (1000, 100)),
                budget_seconds=1.0 if args.smoke else 6.0,
            )
            throughput.section_database_limit(report, stack, 1 if args.smoke else 10)
        if "memory" in only:
            section_memory(report, stack, (50, 100) if args.smoke else (1000, 5000))
    finally:
        stack.stop()
    args.json.write_text(json.dumps(report.sections, indent=2, default=str) + "\n")
    print(f"\nfigures written to {args.json} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
