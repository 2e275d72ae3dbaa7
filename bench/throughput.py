"""Throughput: the per-account ceiling, the service client against one call per event, and how close
the gateway comes to what the emulator itself allows on this machine."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from bench.report import Report
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.effects import IdClaim
from shared.ledger.entries import EntryType, Posting

if TYPE_CHECKING:
    from devstack.stack import Stack

# Production Firestore sustains about one write per second to one document.
WRITES_PER_DOCUMENT_PER_SECOND = 1
MAX_BATCH = 100


def section_ceiling(report: Report) -> None:
    """What one account can do on production Firestore: every balance change rewrites the
    account document ``user_credits/{uid}`` (the head pointer) once."""
    per_s = WRITES_PER_DOCUMENT_PER_SECOND
    rows: list[dict[str, Any]] = [
        {
            "how the service calls": "one usage call per event",
            "balance commits per event": 1.0,
            "per-account ceiling, events/s": per_s,
        },
        {
            "how the service calls": f"usage batch of {MAX_BATCH} (or the client batching)",
            "balance commits per event": 1 / MAX_BATCH,
            "per-account ceiling, events/s": per_s * MAX_BATCH,
        },
        {
            "how the service calls": "hold + capture per event",
            "balance commits per event": 2.0,
            "per-account ceiling, events/s": per_s / 2,
        },
        {
            "how the service calls": "one hold per budget period, metered locally, captured once",
            "balance commits per event": "2 per period",
            "per-account ceiling, events/s": "unbounded by Firestore (the hold caps spending)",
        },
    ]
    report.table(
        f"per-account ceiling on production Firestore ({per_s} sustained write/s per document)",
        rows,
    )


def section_client(
    report: Report,
    stack: Stack,
    events: int,
    spread: int = 100,
    *,
    budget_seconds: float = 6.0,
    budget_rate: float = 1_200.0,
) -> None:
    """Events/s through the service client, batched, against one call per event."""
    from billing_client import BillingClient, UsageBatcher, UsageEvent

    from devstack.service_tokens import ServiceTokenIssuer
    from devstack.stack import METERING_SERVICE_EMAIL

    token = ServiceTokenIssuer.load(stack.service_key_path).mint(
        METERING_SERVICE_EMAIL, stack.service_audience
    )
    ledger = FirestoreLedger(firestore.Client(project=stack.project))
    rows = []
    for accounts in (1, spread):
        for batched in (False, True):
            prefix = f"cli-{uuid.uuid4().hex[:8]}"
            users = [f"{prefix}-{n}" for n in range(accounts)]
            for user in users:
                ledger.append(user, [Posting(EntryType.GRANT, events)])
            batch = [UsageEvent(users[i % accounts], "bench", 1) for i in range(events)]
            client = BillingClient(stack.gateway_url, lambda: token)
            start = time.perf_counter()
            if batched:
                with UsageBatcher(client, max_events=MAX_BATCH, max_delay=0.05) as batcher:
                    futures = [batcher.submit(event) for event in batch]
                failed = sum(1 for f in futures if f.exception() is not None)
            else:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    outcomes = list(pool.map(_charged(client), batch))
                failed = outcomes.count(False)
            elapsed = time.perf_counter() - start
            per_account = [_ledger_commits(ledger, user) - 1 for user in users]  # less the grant
            rows.append(
                {
                    "accounts": accounts,
                    "how": "client, batched (100 / 50 ms)" if batched else "one call per event",
                    "events": events,
                    "failed": failed,
                    "events_per_s": events / elapsed,
                    "http_requests_per_event": client.requests_sent / events,
                    # Each ledger commit carries its events' id claims: one Firestore commit.
                    "commits_per_event": sum(per_account) / events,
                    # Every ledger commit writes its account's document once (the head pointer):
                    # production sustains about 1 write/s on one document.
                    "hottest_document_writes_per_s": max(per_account) / elapsed,
                }
            )
    rows.append(_budget_row(stack, BillingClient(stack.gateway_url, lambda: token), ledger,
                            budget_seconds, budget_rate))  # fmt: skip
    report.table(
        "service client: events/s, one call per event vs batched (8 workers) vs a budget "
        "(hold per period, metered locally); hottest document's writes/s against production's ~1",
        rows,
    )


# A budget's period: two balance commits each (capture, next hold), under 1 write/s.
BUDGET_PERIOD_SECONDS = 3.0


def _budget_row(
    stack: Stack, client: Any, ledger: FirestoreLedger, seconds: float, rate: float
) -> dict[str, Any]:
    """One account charged at ``rate`` events/s for ``seconds`` through a budget; then audited."""
    from shared.adapters.firestore_ledger_codec import CLAIMS
    from shared.ledger.invariants import invariant_violations

    user = f"budget-{uuid.uuid4().hex[:8]}"
    per_period = math.ceil(rate * BUDGET_PERIOD_SECONDS * 1.5)  # room for bursts
    funds = per_period * (math.ceil(seconds / BUDGET_PERIOD_SECONDS) + 2)
    ledger.append(user, [Posting(EntryType.GRANT, funds)])
    workers, charged, refused = 8, [0] * 8, [0] * 8
    start = time.perf_counter()
    with client.budget(user, per_period, BUDGET_PERIOD_SECONDS, service="bench") as budget:

        def load(worker: int) -> None:
            n = 0
            while (elapsed := time.perf_counter() - start) < seconds:
                # Paced: each worker its share of ``rate``, so the load is what a service sends.
                ahead = n / (rate / workers) - elapsed
                if ahead > 0:
                    time.sleep(ahead)
                try:
                    budget.charge(f"{user}-{worker}-{n}", 1)
                    charged[worker] += 1
                except Exception:
                    refused[worker] += 1
                n += 1

        threads = [threading.Thread(target=load, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        metering = time.perf_counter() - start
    settled = time.perf_counter() - start  # every capture answered (the emulator is slow)
    events, entries = sum(charged), ledger.entries(user)
    commits = _ledger_commits(ledger, user) - 1  # less the grant
    recorded = ledger._db.collection(CLAIMS).where(
        filter=firestore.FieldFilter("account", "==", user)
    )
    # The account's claims: its events' ids and its holds' ids.
    ids = [key for doc in recorded.stream() if (key := doc.get("key")).startswith("usage:")]
    head = ledger.head(user)
    return {
        "accounts": 1,
        "how": f"budget: a hold per {BUDGET_PERIOD_SECONDS:g} s period, metered locally",
        "events": events,
        "failed": sum(refused),
        "events_per_s": events / metering,
        "http_requests_per_event": client.requests_sent / max(1, events),
        "commits_per_event": commits / max(1, events),
        # Commits come at period ends (capture) and starts (hold): their rate over the load's
        # time is what production would see; here captures finish later, in the background.
        "hottest_document_writes_per_s": commits / metering,
        "seconds_until_every_capture": settled,
        "overspend": max(0, funds - head.balance - events) + max(0, -head.balance),
        "event_ids_recorded_once": len(ids) == len(set(ids)) == events,
        "invariant_violations": len(invariant_violations(entries)),
    }


def _charged(client: Any) -> Callable[[Any], bool]:
    def charge(event: Any) -> bool:
        try:
            client.charge(event)
        except Exception:
            return False
        return True

    return charge


def _ledger_commits(ledger: FirestoreLedger, user_id: str) -> int:
    """Entries of one commit share their ``created_at`` (one clock reading per commit)."""
    return len({entry.created_at for entry in ledger.entries(user_id)})


def section_database_limit(report: Report, stack: Stack, seconds: float) -> None:
    """The emulator's own rate for a usage charge's commit, and the gateway's share of it.

    This machine is shared: the emulator's rate is measured just before and just after the
    gateway's, and the ratio is taken to their mean.
    """
    import requests

    from bench.callers import service_headers

    client = firestore.Client(project=stack.project)
    ledger = FirestoreLedger(client)
    prefix = uuid.uuid4().hex[:8]

    def charge_commit(worker: str, n: int, size: int = 1) -> None:
        # What a charge commits: create its id claim and entry, set its effect record and the
        # account document (the head pointer).
        user = f"lim-{prefix}-{worker}"
        batch = client.batch()
        for k in range(size):
            seq = (n - 1) * size + k + 1
            batch.create(client.collection("id_claims").document(f"{user}-{seq}"), {"n": seq})
            batch.create(
                client.collection("credit_transactions").document(f"{user}_{seq:010d}"),
                {"user_id": user, "seq": seq, "amount": -1, "created_at": datetime.now(UTC)},
            )
            batch.set(client.collection("ledger_effects").document(f"{user}-{seq}"), {"n": seq})
        batch.set(client.collection("user_credits").document(user), {"seq": n * size})
        batch.commit()

    def batch_commit(worker: str, n: int) -> None:
        charge_commit(worker, n, MAX_BATCH)

    def full_charge(worker: str, n: int) -> None:
        # The two round trips of a charge: read, commit with the claim (no HTTP, no auth).
        user = f"lim-{prefix}-full-{worker}"
        if n == 1:
            ledger.append(user, [Posting(EntryType.GRANT, 10**9)])
        key = f"usage:bench:{prefix}-{worker}-{n}"
        ledger.append(user, [Posting(EntryType.USAGE, -1)], effect_key=key,
                      claim=IdClaim(key, user, 1, "bench"))  # fmt: skip

    headers = service_headers(stack)
    session = requests.Session()

    def gateway_charge(worker: str, n: int) -> None:
        user = f"lim-{prefix}-gw-{worker}"
        if n == 1:
            ledger.append(user, [Posting(EntryType.GRANT, 10**9)])
        body: dict[str, Any] = {
            "user_id": user,
            "service": "bench",
            "amount": 1,
            "event_id": f"{worker}-{n}",
        }
        response = session.post(
            f"{stack.gateway_url}/api/v1/usage", json=body, headers=headers, timeout=60
        )
        response.raise_for_status()

    rows: list[dict[str, Any]] = []

    def row(what: str, call: Callable[[str, int], None], workers: int, per: int = 1) -> float:
        rate = _rate(call, workers, seconds) * per
        rows.append({"what": what, "workers": workers, "events_per_s": rate})
        return rate

    commit = "emulator: a charge's commit (2 creates + 2 sets)"
    before = row(commit, charge_commit, 8)
    gateway = row("gateway: POST /api/v1/usage, an account per worker", gateway_charge, 8)
    after = row(commit, charge_commit, 8)
    rows[-1]["what"] += ", again"
    row("emulator: a charge's 2 round trips (read; commit with the claim)", full_charge, 8)
    row("emulator: 100 charges in one commit (200 creates + 101 sets)", batch_commit, 1, MAX_BATCH)
    rows[1]["share_of_emulator_commit_rate"] = gateway / ((before + after) / 2)
    report.table(f"throughput against the limit here (emulator, {seconds:g} s per row)", rows)


def _rate(call: Callable[[str, int], None], workers: int, seconds: float) -> float:
    run = uuid.uuid4().hex[:6]  # every run writes documents of its own
    done = [0] * workers
    deadline = time.perf_counter() + seconds

    def work(worker: int) -> None:
        n = 1
        while time.perf_counter() < deadline:
            call(f"{run}-{worker}", n)
            n += 1
        done[worker] = n - 1

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)
