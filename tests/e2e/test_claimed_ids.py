"""Ids claimed once across accounts, and each service endpoint open only to its own accounts.

A usage ``event_id``, a ``hold_id`` and an admin's ``Idempotency-Key`` are global, while the
ledger's guard is per account: these scenarios send one id for two accounts (at once and one
after the other) and prove it is applied to one account only, and that the refusal tells the
second caller nothing of the first account.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devstack.stack import (
    METERING_SERVICE_EMAIL,
    REPORTS_SERVICE_EMAIL,
    SCHEDULER_SERVICE_EMAIL,
    Stack,
)
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.entries import EntryType, Posting
from tests.conftest import User, sign_up
from tests.e2e.abuse import service_headers_for

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


@pytest.fixture
def reports(stack_env: Stack) -> dict[str, str]:
    """Another metering account: it may report only as the service ``reports``."""
    return service_headers_for(stack_env, REPORTS_SERVICE_EMAIL)


@pytest.fixture
def scheduler(stack_env: Stack) -> dict[str, str]:
    return service_headers_for(stack_env, SCHEDULER_SERVICE_EMAIL)


# --- Usage event ids ------------------------------------------------------------------------


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


def test_an_event_id_repeated_for_another_user_is_409_without_the_first_users_data(
    gateway: str, metering: dict[str, str], gateway_ledger: FirestoreLedger
) -> None:
    a, b = funded(gateway_ledger), funded(gateway_ledger)
    body = {"user_id": a, "service": "chat", "amount": 100, "event_id": uuid.uuid4().hex}
    first = post(gateway, "/api/v1/usage", metering, body)
    assert first.status_code == 201, first.text

    again = post(gateway, "/api/v1/usage", metering, {**body, "user_id": b})

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
    assert_reveals_nothing_of(again, a, first.json()["transaction_id"])
    assert gateway_ledger.head(b).balance == 1_000
    batched = post(gateway, "/api/v1/usage/batch", metering, {"events": [{**body, "user_id": b}]})
    assert batched.status_code == 200, batched.text
    assert batched.json()["failed"] == 1
    assert_reveals_nothing_of(batched, a, first.json()["transaction_id"])
    assert gateway_ledger.head(b).balance == 1_000


# --- Hold ids -------------------------------------------------------------------------------


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


def test_a_hold_id_repeated_for_another_user_is_409(
    gateway: str, metering: dict[str, str], gateway_ledger: FirestoreLedger
) -> None:
    a, b = funded(gateway_ledger), funded(gateway_ledger)
    body = {"user_id": a, "service": "ai", "amount": 100, "hold_id": uuid.uuid4().hex}
    assert post(gateway, "/api/v1/holds", metering, body).status_code == 201
    again = post(gateway, "/api/v1/holds", metering, {**body, "user_id": b})
    assert again.status_code == 409, again.text
    assert_reveals_nothing_of(again, a)
    assert gateway_ledger.head(b).held == 0


def test_another_services_capture_or_release_of_a_hold_is_404(
    gateway: str,
    metering: dict[str, str],
    reports: dict[str, str],
    gateway_ledger: FirestoreLedger,
) -> None:
    uid = funded(gateway_ledger)
    body = {"user_id": uid, "service": "ai", "amount": 100}
    hold_id = post(gateway, "/api/v1/holds", metering, body).json()["hold_id"]

    for action in ("capture", "release"):
        response = post(gateway, f"/api/v1/holds/{hold_id}/{action}", reports, {})
        assert response.status_code == 404, response.text
        assert_reveals_nothing_of(response, uid)
    assert gateway_ledger.head(uid).held == 100
    captured = post(gateway, f"/api/v1/holds/{hold_id}/capture", metering, {"amount": 40})
    assert captured.status_code == 200, captured.text


# --- Admin idempotency keys -----------------------------------------------------------------


def test_an_admin_key_reused_with_another_endpoint_user_or_body_is_422(
    gateway: str, stack_env: Stack, admin: User, gateway_ledger: FirestoreLedger
) -> None:
    a, b = sign_up(stack_env).uid, sign_up(stack_env).uid
    headers = {**admin.headers, "Idempotency-Key": f"admin-{uuid.uuid4().hex}"}
    grant = {"user_id": a, "amount": 500, "reason": "goodwill"}
    first = post(gateway, "/api/v1/admin/credits/grant", headers, grant)
    assert first.status_code == 201, first.text

    reuses = {
        "another endpoint": ("/api/v1/admin/credits/adjust", grant),
        "another endpoint and user": ("/api/v1/admin/credits/adjust", {**grant, "user_id": b}),
        "another user": ("/api/v1/admin/credits/grant", {**grant, "user_id": b}),
        "another body": ("/api/v1/admin/credits/grant", {**grant, "amount": 501}),
    }
    for name, (path, body) in reuses.items():
        response = post(gateway, path, headers, body)
        assert response.status_code == 422, f"{name}: {response.text}"
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        if body["user_id"] != a:
            assert_reveals_nothing_of(response, a, first.json()["transaction_id"])
    assert (gateway_ledger.head(a).balance, gateway_ledger.head(b).balance) == (500, 0)
    assert gateway_ledger.head(a).seq == 1


# --- Least privilege: each service endpoint has its own allow-list ------------------------


def test_the_scheduler_account_cannot_report_usage_or_hold_credits(
    gateway: str, scheduler: dict[str, str], gateway_ledger: FirestoreLedger
) -> None:
    uid = funded(gateway_ledger)
    event = {"user_id": uid, "service": "chat", "amount": 10, "event_id": uuid.uuid4().hex}
    for path, body in (
        ("/api/v1/usage", event),
        ("/api/v1/usage/batch", {"events": [event]}),
        ("/api/v1/holds", {"user_id": uid, "service": "chat", "amount": 10}),
    ):
        response = post(gateway, path, scheduler, body)
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert gateway_ledger.head(uid).seq == 1


def test_a_metering_account_cannot_run_hold_expiry_or_reconciliation(
    gateway: str, metering: dict[str, str], scheduler: dict[str, str]
) -> None:
    for path in ("/api/v1/holds/expire", "/api/v1/reconcile"):
        response = post(gateway, path, metering, {})
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert post(gateway, "/api/v1/holds/expire", scheduler, {}).status_code == 200


def test_a_service_name_the_caller_may_not_use_is_403_and_charges_nothing(
    gateway: str,
    metering: dict[str, str],
    reports: dict[str, str],
    gateway_ledger: FirestoreLedger,
) -> None:
    uid = funded(gateway_ledger)

    def event(service: str) -> dict[str, Any]:
        return {"user_id": uid, "service": service, "amount": 10, "event_id": uuid.uuid4().hex}

    refused = [
        ("/api/v1/usage", reports, event("chat")),
        ("/api/v1/usage", metering, event("reports")),
        ("/api/v1/usage/batch", reports, {"events": [event("reports"), event("chat")]}),
        ("/api/v1/holds", reports, {"user_id": uid, "service": "ai", "amount": 10}),
    ]
    for path, headers, body in refused:
        response = post(gateway, path, headers, body)
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert gateway_ledger.head(uid).seq == 1
    allowed = post(gateway, "/api/v1/usage", reports, event("reports"))
    assert allowed.status_code == 201, allowed.text
