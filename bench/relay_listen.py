"""Listen or polling for the trigger relay, measured on Google's Firestore emulator.

Starts an emulator of its own, fills it (other projects' documents, as the test suite leaves
them, and the watched collection of ``demo-billing``), then writes documents at a paced rate
while a watcher process picks them up, one of:

- ``listen``: google-cloud-firestore's ``on_snapshot`` on the collection;
- ``raw``: the bare Listen RPC, no client-side snapshot (each document name new to the stream);
- ``poll``: the relay's query (``created_at`` >= newest - 5 s) ten times a second.

Prints one JSON line: delivery latency (commit sent → watcher saw it), documents undelivered
when the drain time ran out and seen twice, documents the watcher received (Listen's messages,
or the polls' results), the emulator's and the watcher's peak resident memory and CPU seconds.
``--account-writes N`` instead listens on one account document while it is written N times.

    PYTHONPATH=client .venv/bin/python -m bench.relay_listen --mode raw --prefill 2000 --rate 20
    PYTHONPATH=client .venv/bin/python -m bench.relay_listen --mode poll --prefill 20000 \
        --rate 1000 --batch 100
    PYTHONPATH=client .venv/bin/python -m bench.relay_listen --account-writes 300 --writers 8
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.measure import ROOT, percentile, rss_kib
from devstack import firestore_emulator
from devstack.processes import free_port, http_ok

PROJECT = "demo-billing"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def entry(n: int, user: str) -> dict[str, Any]:
    """About the size and shape of a ledger entry (credit_transactions)."""
    now = datetime.now(UTC)
    return {
        "user_id": user,
        "seq": n,
        "type": "usage",
        "amount": -1,
        "balance_after": 10**9 - n,
        "held_after": 0,
        "created_at": now,
        "effect_key": f"usage:bench:{uuid.uuid4().hex}",
        "description": "bench usage",
        "service": "bench",
        "actor": "service:metering",
        "source": {"kind": "usage", "request": uuid.uuid4().hex},
        "totals_after": {"granted": 10**9, "used": n, "refunded": 0, "expired": 0},
        "draws": [{"grant": "promo:2026-12", "credits": 1}],
        "grants_after": [{"id": "promo:2026-12", "remaining": 10**9 - n, "opened_at": now}],
    }


def fill(client: Any, collection: str, count: int, user: str) -> None:
    def batch(start: int) -> None:
        b = client.batch()
        for n in range(start, min(count, start + 400)):
            b.set(client.collection(collection).document(f"{user}_{n:010d}"), entry(n, user))
        b.commit()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(0, count, 400)))


# --- the watcher (a process of its own, so its memory and CPU are its own) ---------------------


def watch(mode: str, collection: str, out: Path) -> None:
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = firestore.Client(project=PROJECT)
    seen: list[tuple[str, float]] = []
    received = [0]  # documents sent to the watcher (not counted for ``listen``)
    ready = threading.Event()

    if mode == "listen":

        def on_snapshot(docs: Any, changes: Any, read_time: Any) -> None:
            now = time.time()
            seen.extend((c.document.id, now) for c in changes if c.type.name == "ADDED")
            ready.set()

        client.collection(collection).on_snapshot(on_snapshot)
    elif mode == "raw":
        threading.Thread(
            target=raw_listen, args=(client, collection, seen, received, ready), daemon=True
        ).start()
    else:

        def poll() -> None:
            recent: dict[str, datetime] = {}
            newest = datetime(1970, 1, 1, tzinfo=UTC)
            while True:
                since = newest - timedelta(seconds=5)
                query = client.collection(collection).where(
                    filter=FieldFilter("created_at", ">=", since)
                )
                for snap in query.stream(timeout=30):
                    received[0] += 1
                    if snap.id in recent:
                        continue
                    created = snap.get("created_at")
                    recent[snap.id] = created
                    newest = max(newest, created)
                    seen.append((snap.id, time.time()))
                for key in [k for k, c in recent.items() if c < since]:
                    del recent[key]
                ready.set()
                time.sleep(0.1)

        threading.Thread(target=poll, daemon=True).start()

    started = time.monotonic()
    ready.wait()
    print(f"ready {time.monotonic() - started:.2f}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(0.2):
        print(len(seen), flush=True)  # progress: how many it has delivered so far
    out.write_text(json.dumps({"seen": seen, "received": received[0]}))


def raw_listen(
    client: Any,
    collection: str,
    seen: list[tuple[str, float]],
    received: list[int],
    ready: threading.Event,
) -> None:
    """The Listen RPC without the client's Watch: each document name new to the stream counts."""
    from google.cloud.firestore_v1.types import ListenRequest, Target, TargetChange

    query = client.collection(collection)._query()._to_protobuf()
    parent = f"{client._database_string}/documents"
    target = Target(target_id=1, query=Target.QueryTarget(parent=parent, structured_query=query))
    never = threading.Event()

    def requests() -> Any:
        yield ListenRequest(database=client._database_string, add_target=target)
        never.wait()  # the stream stays open while requests are pending

    names: set[str] = set()
    listen = client._firestore_api._transport.listen
    for response in listen(requests(), metadata=client._rpc_metadata):
        if response._pb.WhichOneof("response_type") == "document_change":
            received[0] += 1
            name = response.document_change.document.name
            if name not in names:
                names.add(name)
                seen.append((name.rsplit("/", 1)[1], time.time()))
        elif response.target_change.target_change_type == TargetChange.TargetChangeType.CURRENT:
            ready.set()


# --- the run ----------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Peak resident memory of some processes, sampled every 0.2 s."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.peak = pids, dict.fromkeys(pids, 0)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_kib(pid))
            self.stopped.wait(0.2)


def write_paced(
    client: Any, collection: str, total: int, rate: float, batch: int
) -> dict[str, float]:
    """Commit ``batch`` documents every batch/rate seconds from 4 threads; when each was sent."""
    committed: dict[str, float] = {}
    user = f"busy-{uuid.uuid4().hex[:6]}"
    start = time.monotonic()
    lock = threading.Lock()
    counter = iter(range(0, total, batch))

    def writer() -> None:
        for first in counter:
            ahead = first / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
            b = client.batch()
            ids = [f"{user}_{n:010d}" for n in range(first, min(total, first + batch))]
            for n, doc_id in enumerate(ids, first):
                b.set(client.collection(collection).document(doc_id), entry(n, user))
            sent = time.time()
            b.commit()
            with lock:
                committed.update(dict.fromkeys(ids, sent))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return committed


def run(args: argparse.Namespace, emulator: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    from google.cloud import firestore

    client = firestore.Client(project=PROJECT)
    for n in range(args.other_projects):  # what other tests leave in their own projects
        other = firestore.Client(project=f"demo-test-{n:04d}")
        fill(other, "credit_transactions", args.other_docs, f"other{n}")
    fill(client, args.collection, args.prefill, "prefill")
    rss_filled = rss_kib(emulator.pid)

    watcher = subprocess.Popen(
        [sys.executable, "-m", "bench.relay_listen", "--watch", args.mode,
         "--collection", args.collection, "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, env=os.environ,
    )  # fmt: skip
    assert watcher.stdout is not None
    ready_line = watcher.stdout.readline().decode().split()
    initial_s = float(ready_line[1])
    sampler = Sampler({"emulator": emulator.pid, "watcher": watcher.pid})
    sampler.start()
    time.sleep(1)  # the watcher settles
    cpu0 = {"emulator": cpu_seconds(emulator.pid), "watcher": cpu_seconds(watcher.pid)}

    total = int(args.rate * args.seconds)
    commits = len(range(0, total, args.batch))
    start = time.monotonic()
    committed = write_paced(client, args.collection, total, args.rate, args.batch)
    wrote_s = time.monotonic() - start
    expected = total + args.prefill
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline and int(watcher.stdout.readline() or 0) < expected:
        pass  # wait until every document is delivered, or the drain time is up
    drained_s = time.monotonic() - start - wrote_s
    cpu1 = {"emulator": cpu_seconds(emulator.pid), "watcher": cpu_seconds(watcher.pid)}
    watcher.send_signal(signal.SIGTERM)
    watcher.wait(timeout=60)
    sampler.stopped.set()
    watched = json.loads(out.read_text())
    times: dict[str, list[float]] = {}
    for doc_id, at in watched["seen"]:
        times.setdefault(doc_id, []).append(at)
    latency = [times[d][0] - at for d, at in committed.items() if d in times]
    prefilled = sum(1 for d in times if d.startswith("prefill_"))
    return {
        "mode": args.mode,
        "other_projects_x_docs": f"{args.other_projects}x{args.other_docs}",
        "prefill": args.prefill,
        "initial_snapshot_s": initial_s,
        "prefill_delivered": prefilled,
        "written": total,
        "write_rate_achieved": total / wrote_s,
        "undelivered": sum(1 for d in committed if d not in times),
        "drained_s": drained_s,
        "seen_twice": sum(1 for v in times.values() if len(v) > 1),
        # Documents sent to the watcher per commit once it had the prefill: Listen re-sends.
        "received_per_commit": (watched["received"] - args.prefill) / max(1, commits)
        if args.mode != "listen"
        else None,
        "latency_p50_ms": percentile(latency, 50) * 1000,
        "latency_p99_ms": percentile(latency, 99) * 1000,
        "latency_max_ms": max(latency, default=float("nan")) * 1000,
        "emulator_rss_mib_filled": rss_filled / 1024,
        "emulator_rss_mib_peak": sampler.peak["emulator"] / 1024,
        "watcher_rss_mib_peak": sampler.peak["watcher"] / 1024,
        "emulator_cpu_s": cpu1["emulator"] - cpu0["emulator"],
        "watcher_cpu_s": cpu1["watcher"] - cpu0["watcher"],
        "window_s": wrote_s + drained_s,
        "loadavg_1m": os.getloadavg()[0],
    }


def account_writes(count: int, writers: int) -> dict[str, Any]:
    """Listen on one account document while ``writers`` threads commit it ``count`` times."""
    from google.cloud import firestore

    client = firestore.Client(project=PROJECT)
    doc = client.collection("user_credits").document(f"acct-{uuid.uuid4().hex[:6]}")
    doc.set({"seq": 0})
    versions: list[int] = []
    first = threading.Event()

    def on_snapshot(docs: Any, changes: Any, read_time: Any) -> None:
        versions.extend(int(d.get("seq")) for d in docs)
        first.set()

    watch_: Any = doc.on_snapshot(on_snapshot)
    first.wait()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(lambda n: doc.set({"seq": n}), range(1, count + 1)))
    time.sleep(3)
    watch_.unsubscribe()
    distinct = sorted(set(versions) - {0})
    return {"commits": count, "writers": writers, "versions_seen": len(distinct),
            "snapshots": len(versions) - 1}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["listen", "raw", "poll"], default="listen")
    parser.add_argument("--collection", default="credit_transactions")
    parser.add_argument("--other-projects", type=int, default=0)
    parser.add_argument("--other-docs", type=int, default=0)
    parser.add_argument("--prefill", type=int, default=0)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--drain", type=float, default=60, help="at most, after the writes")
    parser.add_argument("--account-writes", type=int, default=0)
    parser.add_argument("--writers", type=int, default=1, help="with --account-writes")
    parser.add_argument("--watch", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.watch:
        watch(args.watch, args.collection, args.out)
        return
    port = free_port()
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="relay-listen-") as state:
        emulator = subprocess.Popen(
            firestore_emulator.command(port), cwd=state,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not http_ok(f"http://127.0.0.1:{port}/"):
                time.sleep(0.1)
            result = (
                account_writes(args.account_writes, args.writers)
                if args.account_writes
                else run(args, emulator, Path(state) / "seen.json")
            )
            print(json.dumps(result))
        finally:
            emulator.terminate()
            emulator.wait()


if __name__ == "__main__":
    main()
