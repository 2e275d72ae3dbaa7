"""Holds through the gateway: reserve, capture part, release, expiry by the scheduled function."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import SCHEDULER_SERVICE_EMAIL, Stack
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.entries import EntryType, Posting
from shared.ledger.invariants import invariant_violations

pytestmark = pytest.mark.stack


def post(gateway: str, path: str, headers: dict[str, str], **body: Any) -> requests.Response:
    return requests.post(f"{gateway}{path}", json=body, headers=headers, timeout=30)


def funded_account(ledger: FirestoreLedger, credits: int = 100) -> str:
    uid = f"holder-{uuid.uuid4().hex[:12]}"
    ledger.append(uid, [Posting(EntryType.GRANT, credits, actor="test")])
    return uid


def spent(ledger: FirestoreLedger, uid: str) -> int:
    return -sum(
        e.amount for e in ledger.entries(uid) if e.type in (EntryType.USAGE, EntryType.HOLD_CAPTURE)
    )


def test_reserve_50_capture_30_gives_20_back(gateway: str, service_headers, gateway_ledger) -> None:
    uid = funded_account(gateway_ledger, 100)

    placed = post(gateway, "/api/v1/holds", service_headers, user_id=uid, service="ai", amount=50)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "held"
    hold_id = placed.json()["hold_id"]
    head = gateway_ledger.head(uid)
    assert (head.balance, head.held, head.available) == (100, 50, 50)

    captured = post(gateway, f"/api/v1/holds/{hold_id}/capture", service_headers, amount=30)
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured"] == 30
    assert captured.json()["released"] == 20

    head = gateway_ledger.head(uid)
    assert (head.balance, head.held, head.available) == (70, 0, 70)
    assert head.available + head.held + spent(gateway_ledger, uid) == 100
    types = [e.type for e in gateway_ledger.entries(uid)]
    assert types == [
        EntryType.GRANT,
        EntryType.HOLD,
        EntryType.HOLD_CAPTURE,
        EntryType.HOLD_RELEASE,
    ]
    assert invariant_violations(gateway_ledger.entries(uid)) == []


def test_capture_after_release_is_refused(gateway: str, service_headers, gateway_ledger) -> None:
    uid = funded_account(gateway_ledger, 100)
    placed = post(gateway, "/api/v1/holds", service_headers, user_id=uid, service="ai", amount=50)
    hold_id = placed.json()["hold_id"]

    released = post(gateway, f"/api/v1/holds/{hold_id}/release", service_headers)
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    refused = post(gateway, f"/api/v1/holds/{hold_id}/capture", service_headers, amount=10)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"

    head = gateway_ledger.head(uid)
    assert (head.balance, head.held, head.available) == (100, 0, 100)


def test_capture_release_races_settle_once(gateway: str, service_headers, gateway_ledger) -> None:
    uid = funded_account(gateway_ledger, 100)
    placed = post(gateway, "/api/v1/holds", service_headers, user_id=uid, service="ai", amount=50)
    hold_id = placed.json()["hold_id"]
    paths = [f"/api/v1/holds/{hold_id}/{'capture' if i % 2 else 'release'}" for i in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda p: post(gateway, p, service_headers).status_code, paths))
    assert set(statuses) <= {200, 409}
    entries = gateway_ledger.entries(uid)
    assert invariant_violations(entries) == []
    settlements = [
        e for e in entries if e.type is not EntryType.GRANT and e.type is not EntryType.HOLD
    ]
    assert len({e.source["outcome"] for e in settlements}) == 1
    assert entries[-1].held_after == 0
    assert entries[-1].balance_after in (100, 50)


def test_an_expired_hold_is_released_by_the_scheduled_function(
    gateway: str, stack: Stack, service_tokens, service_headers, gateway_ledger
) -> None:
    uid = funded_account(gateway_ledger, 100)
    placed = post(
        gateway,
        "/api/v1/holds",
        service_headers,
        user_id=uid,
        service="ai",
        amount=50,
        expires_in=1,
    )
    hold_id = placed.json()["hold_id"]
    expires_at = datetime.fromisoformat(placed.json()["expires_at"])
    assert expires_at - datetime.now(UTC) <= timedelta(seconds=1)
    _wait_until(expires_at)

    scheduler = service_tokens.mint(SCHEDULER_SERVICE_EMAIL, stack.service_audience)
    run = post(gateway, "/api/v1/holds/expire", {"Authorization": f"Bearer {scheduler}"})
    assert run.status_code == 200, run.text
    assert run.json()["expired"] >= 1

    head = gateway_ledger.head(uid)
    assert (head.balance, head.held, head.available) == (100, 0, 100)
    assert gateway_ledger.entries(uid)[-1].source["outcome"] == "expired"
    refused = post(gateway, f"/api/v1/holds/{hold_id}/capture", service_headers)
    assert refused.status_code == 409
    assert "expired" in refused.json()["error"]["message"]


def test_capture_after_expiry_is_refused_and_releases(
    gateway: str, service_headers, gateway_ledger
) -> None:
    uid = funded_account(gateway_ledger, 100)
    placed = post(
        gateway,
        "/api/v1/holds",
        service_headers,
        user_id=uid,
        service="ai",
        amount=50,
        expires_in=1,
    )
    _wait_until(datetime.fromisoformat(placed.json()["expires_at"]))
    refused = post(gateway, f"/api/v1/holds/{placed.json()['hold_id']}/capture", service_headers)
    assert refused.status_code == 409
    assert gateway_ledger.head(uid).available == 100


def _wait_until(moment: datetime) -> None:
    """Wait for the hold's own expiry time: the only way to test expiry without a fake clock."""
    import time

    while datetime.now(UTC) < moment:
        time.sleep(0.05)
