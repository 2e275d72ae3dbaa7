"""Ids claimed once across accounts when two accounts race for one id (real Firestore claims).

A usage ``event_id`` and a ``hold_id`` are global, while the ledger's guard is per account: these
scenarios send one id for two accounts at once and prove it is applied to one account only, and
that the refusal tells the second caller nothing of the first account. The sequential cases and
the allow-lists run in process: tests/unit/test_http_claimed_ids.py.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devstack.stack import METERING_SERVICE_EMAIL, Stack
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.entries import EntryType, Posting
from tests.conftest import service_headers_for

pytestmark = pytest.mark.stack


def post(gateway: str, path: str, headers: dict[str, str], body: Any) -> requests.Response:
    return requests.post(f"{gateway}{path}", json=body, headers=headers, timeout=60)


def funded(ledger: FirestoreLedger, credits: int = 1_000) -> str:
    uid = f"claims-{uuid.uuid4().hex[:12]}"
    ledger.append(uid, [Posting(EntryType.GRANT, credits, actor="test")])
    return uid


def at_once(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Run ``calls`` together, released by one barrier so that they race."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_reveals_nothing_of(response: requests.Response, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response.text, f"{secret!r} leaked in {response.text}"


@pytest.fixture
def metering(stack_env: Stack) -> dict[str, str]:
    return service_headers_for(stack_env, METERING_SERVICE_EMAIL)


def test_one_event_id_sent_for_two_users_at_once_is_charged_to_one_only(
    gateway: str, metering: dict[str, str], gateway_ledger: FirestoreLedger
) -> None:
    for _ in range(6):  # each round is one race; the emulator interleaves them differently
        a, b = funded(gateway_ledger), funded(gateway_ledger)
        event_id = f"evt-{uuid.uuid4().hex}"

        def charge(uid: str, event_id: str = event_id) -> Callable[[], requests.Response]:
            body = {"user_id": uid, "service": "chat", "amount": 100, "event_id": event_id}
            return lambda: post(gateway, "/api/v1/usage", metering, body)

        answers = at_once(charge(a), charge(b))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201, 409], [r.text for r in answers]
        charged, refused = answers if answers[0].status_code == 201 else answers[::-1]
        winner, loser = (a, b) if charged is answers[0] else (b, a)
        assert_reveals_nothing_of(refused, winner, charged.json()["transaction_id"])
        balances = sorted(gateway_ledger.head(uid).balance for uid in (a, b))
        assert balances == [900, 1_000]
        assert gateway_ledger.head(loser).seq == 1


def test_one_hold_id_placed_for_two_users_at_once_holds_one_and_it_can_be_released(
    gateway: str, metering: dict[str, str], gateway_ledger: FirestoreLedger
) -> None:
    for _ in range(6):
        a, b = funded(gateway_ledger), funded(gateway_ledger)
        hold_id = f"hold-{uuid.uuid4().hex}"

        def place(uid: str, hold_id: str = hold_id) -> Callable[[], requests.Response]:
            body = {"user_id": uid, "service": "ai", "amount": 100, "hold_id": hold_id}
            return lambda: post(gateway, "/api/v1/holds", metering, body)

        answers = at_once(place(a), place(b))
        assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
        winner = a if answers[0].status_code == 201 else b
        refused = answers[1] if winner == a else answers[0]
        assert_reveals_nothing_of(refused, winner)
        assert sorted(gateway_ledger.head(uid).held for uid in (a, b)) == [0, 100]

        released = post(gateway, f"/api/v1/holds/{hold_id}/release", metering, {})
        assert released.status_code == 200, released.text
        assert [gateway_ledger.head(uid).held for uid in (a, b)] == [0, 0]
