"""`make dev`'s stack runs what production runs: scheduled jobs, the developer's Stripe secret.

The stack here is a whole one of this module's own, built from a developer's environment the way
``python -m devstack.stack`` builds it, with the hold-expiry job every 2 s instead of every minute.
"""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from devstack.busy_ports import PortInUse
from devstack.processes import port_open
from devstack.service_tokens import ServiceTokenIssuer
from devstack.stack import METERING_SERVICE_EMAIL, ROOT, Ports, Stack
from shared.ledger.entries import EntryType, Posting
from tests.conftest import eventually

pytestmark = pytest.mark.stack

# What `stripe listen` prints and a developer exports before `make dev`.
DEVELOPER_WEBHOOK_SECRET = f"whsec_cli_{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    environ = {
        "STRIPE_WEBHOOK_SECRET": DEVELOPER_WEBHOOK_SECRET,
        "DEV_SCHEDULE_HOLDS_EXPIRE_SECONDS": "2",
    }
    local = Stack.from_environment(
        environ, ports=Ports.free(), state_dir=tmp_path_factory.mktemp("dev")
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


def scheduler_runs(state_dir: Path, job: str) -> list[dict[str, Any]]:
    lines = (state_dir / "scheduler.log").read_text().splitlines()
    runs = [json.loads(line) for line in lines if line.startswith("{")]
    return [run for run in runs if run["job"] == job]


def test_make_dev_expires_a_hold_on_its_own(dev: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in dev.client_env().items():
        monkeypatch.setenv(name, value)
    from google.cloud import firestore

    from shared.adapters.firestore_ledger import FirestoreLedger

    ledger = FirestoreLedger(firestore.Client(project=dev.project))
    uid = f"holder-{uuid.uuid4().hex[:12]}"
    ledger.append(uid, [Posting(EntryType.GRANT, 100, actor="test")])
    metering = ServiceTokenIssuer.load(dev.service_key_path).mint(
        METERING_SERVICE_EMAIL, dev.service_audience
    )
    placed = requests.post(
        f"{dev.gateway_url}/api/v1/holds",
        json={"user_id": uid, "service": "ai", "amount": 50, "expires_in": 1},
        headers={"Authorization": f"Bearer {metering}"},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    assert ledger.head(uid).held == 50

    # Nobody here calls /api/v1/holds/expire: the stack's scheduler does, as Cloud Scheduler would.
    assert eventually(lambda: ledger.head(uid).held == 0, timeout=30), "the hold never expired"
    head = ledger.head(uid)
    assert (head.balance, head.available) == (100, 100)
    assert ledger.entries(uid)[-1].source["outcome"] == "expired"
    runs = scheduler_runs(dev.state_dir, "holds_expire")
    assert {run["path"] for run in runs} == {"/api/v1/holds/expire"}
    assert all(run["status"] == 200 for run in runs), runs
    assert any(re.search(r'"expired":\s*[1-9]', run["response"]) for run in runs), runs


def test_each_job_keeps_its_registry_schedule_unless_overridden(dev: Stack) -> None:
    schedule = (dev.state_dir / "scheduler.log").read_text().splitlines()
    assert "holds_expire (* * * * *) every 2 s" in schedule  # DEV_SCHEDULE_HOLDS_EXPIRE_SECONDS
    assert "reconcile (*/5 * * * *) every 300 s" in schedule  # the registry's cron


def signed(body: bytes, secret: str) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def test_the_developers_stripe_webhook_secret_is_used_and_written_beside_razorpays(
    dev: Stack,
) -> None:
    written = (dev.state_dir / "stripe.env").read_text().splitlines()
    assert f"STRIPE_WEBHOOK_SECRET={DEVELOPER_WEBHOOK_SECRET}" in written
    assert any(line.startswith("RAZORPAY_WEBHOOK_SECRET=") for line in
               (dev.state_dir / "razorpay.env").read_text().splitlines())  # fmt: skip

    event = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_cli", "object": "customer"}},
    }
    body = json.dumps(event).encode()
    url = f"{dev.gateway_url}/api/webhook"
    accepted = requests.post(
        url, data=body, headers=signed(body, DEVELOPER_WEBHOOK_SECRET), timeout=10
    )
    assert accepted.status_code == 200, accepted.text
    other = requests.post(url, data=body, headers=signed(body, "whsec_other"), timeout=10)
    assert other.status_code == 400, other.text


def test_without_a_developer_secret_each_stack_makes_its_own() -> None:
    first, second = Stack.from_environment({}), Stack.from_environment({})
    assert first.stripe_webhook_secret.startswith("whsec_")
    assert first.stripe_webhook_secret != second.stripe_webhook_secret


def test_a_port_in_use_stops_the_stack_at_once_naming_the_port_and_its_holder(
    tmp_path: Path,
) -> None:
    script = tmp_path / "hold_a_port.py"
    script.write_text(HOLD_A_PORT)
    secrets = ["--api-key", "hunter2-value", "--token=hunter3-value", "--port", "1"]
    holder = subprocess.Popen(
        [sys.executable, str(script), *secrets], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        with holder.stdout:
            port = int(holder.stdout.readline())
        stack = Stack(ports=replace(Ports.free(), firestore=port), state_dir=tmp_path)
        started = time.monotonic()
        with pytest.raises(PortInUse) as refused:
            stack.start()
        assert time.monotonic() - started < 10
        message = str(refused.value)
        assert f"port {port}" in message
        assert "firestore" in message
        assert f"pid {holder.pid}" in message
        assert "hold_a_port.py --api-key *** --token=*** --port 1" in message  # secrets masked
        assert stack.processes == {}  # nothing was started
    finally:
        holder.kill()
        holder.wait()


# A shell without job control (a script, CI, `make dev &` in one) starts a background job with
# SIGINT ignored; so does this launcher, then it runs the stack as `make dev` does, on free ports.
IN_THE_BACKGROUND = """
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from dataclasses import asdict
from pathlib import Path
from devstack.stack import Ports, Stack, serve
ports = Ports.free()
print(json.dumps(asdict(ports)), flush=True)
serve(Stack(ports=ports, state_dir=Path(sys.argv[1]), run_scheduled_jobs=False))
"""


def lines_until(process: subprocess.Popen[str], wanted: str, timeout: float) -> list[str]:
    """What ``process`` prints up to the line starting with ``wanted``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while not lines or not lines[-1].startswith(wanted):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([process.stdout], [], [], left)[0]:
            pytest.fail(f"no {wanted!r} after {timeout:.0f} s: {lines}")
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the stack exited with {process.wait()}: {lines}")
        lines.append(line)
    return lines


def process_groups_alive(groups: set[int]) -> list[str]:
    """Each process still running in one of ``groups`` (a stack's child and what it started)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[2]) in groups and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stack_started_in_the_background_stops_on_an_interrupt_and_takes_its_children(
    signum: signal.Signals, tmp_path: Path
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", IN_THE_BACKGROUND, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as stack:
        try:
            ports = Ports(**json.loads(lines_until(stack, "{", timeout=30)[-1]))
            lines_until(stack, "Local billing stack is up", timeout=180)
            children = Path(f"/proc/{stack.pid}/task/{stack.pid}/children").read_text().split()
            groups = {int(pid) for pid in children}  # each child leads its own process group
            assert len(groups) >= 6, groups

            stack.send_signal(signum)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the stack ignored {signum.name}")
            assert process_groups_alive(groups) == []
            assert [port for port in asdict(ports).values() if port_open(port)] == []
        finally:
            if stack.poll() is None:
                stack.kill()


# A stand-in for whatever else a developer runs on a port the stack wants.
HOLD_A_PORT = """
import socket, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
time.sleep(300)
"""
