"""Ids claimed once across accounts, and each service endpoint open only to its own accounts.

A usage ``event_id``, a ``hold_id`` and an admin's ``Idempotency-Key`` are global, while the
ledger's guard is per account: these scenarios send one id for two accounts one after the other
and prove it is applied to one account only, and that the refusal tells the second caller nothing
of the first account. In process, through the real ``@endpoint`` wrapper on fakes
(tests/unit/edge.py); the races for one id run on the stack in tests/e2e/test_claimed_ids.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.unit.edge import REPORTS, SCHEDULER, Answer, Edge, admin, service

METERING = service()
OTHER_METERING = service(REPORTS)  # may report only as the service "reports"
SCHEDULER_ACCOUNT = service(SCHEDULER)


def funded(edge: Edge, credits: int = 1_000) -> str:
    uid = f"claims-{uuid.uuid4().hex[:12]}"
    edge.fund(uid, credits)
    return uid


def assert_reveals_nothing_of(response: Answer, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response.text, f"{secret!r} leaked in {response.text}"


def test_an_event_id_repeated_for_another_user_is_409_without_the_first_users_data(
    edge: Edge,
) -> None:
    a, b = funded(edge), funded(edge)
    body = {"user_id": a, "service": "chat", "amount": 100, "event_id": uuid.uuid4().hex}
    first = edge.post("/api/v1/usage", METERING, body)
    assert first.status_code == 201, first.text

    again = edge.post("/api/v1/usage", METERING, {**body, "user_id": b})

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
    assert_reveals_nothing_of(again, a, first.json()["transaction_id"])
    assert edge.ledger.head(b).balance == 1_000
    batched = edge.post("/api/v1/usage/batch", METERING, {"events": [{**body, "user_id": b}]})
    assert batched.status_code == 200, batched.text
    assert batched.json()["failed"] == 1
    assert_reveals_nothing_of(batched, a, first.json()["transaction_id"])
    assert edge.ledger.head(b).balance == 1_000


def test_a_hold_id_repeated_for_another_user_is_409(edge: Edge) -> None:
    a, b = funded(edge), funded(edge)
    body = {"user_id": a, "service": "ai", "amount": 100, "hold_id": uuid.uuid4().hex}
    assert edge.post("/api/v1/holds", METERING, body).status_code == 201
    again = edge.post("/api/v1/holds", METERING, {**body, "user_id": b})
    assert again.status_code == 409, again.text
    assert_reveals_nothing_of(again, a)
    assert edge.ledger.head(b).held == 0


def test_another_services_capture_or_release_of_a_hold_is_404(edge: Edge) -> None:
    uid = funded(edge)
    body = {"user_id": uid, "service": "ai", "amount": 100}
    hold_id = edge.post("/api/v1/holds", METERING, body).json()["hold_id"]

    for action in ("capture", "release"):
        response = edge.post(f"/api/v1/holds/{hold_id}/{action}", OTHER_METERING, {})
        assert response.status_code == 404, response.text
        assert_reveals_nothing_of(response, uid)
    assert edge.ledger.head(uid).held == 100
    captured = edge.post(f"/api/v1/holds/{hold_id}/capture", METERING, {"amount": 40})
    assert captured.status_code == 200, captured.text


def test_an_admin_key_reused_with_another_endpoint_user_or_body_is_422(edge: Edge) -> None:
    a, b = f"uid-{uuid.uuid4().hex}", f"uid-{uuid.uuid4().hex}"
    headers = {**admin(), "Idempotency-Key": f"admin-{uuid.uuid4().hex}"}
    grant = {"user_id": a, "amount": 500, "reason": "goodwill"}
    first = edge.post("/api/v1/admin/credits/grant", headers, grant)
    assert first.status_code == 201, first.text

    reuses = {
        "another endpoint": ("/api/v1/admin/credits/adjust", grant),
        "another endpoint and user": ("/api/v1/admin/credits/adjust", {**grant, "user_id": b}),
        "another user": ("/api/v1/admin/credits/grant", {**grant, "user_id": b}),
        "another body": ("/api/v1/admin/credits/grant", {**grant, "amount": 501}),
    }
    for name, (path, body) in reuses.items():
        response = edge.post(path, headers, body)
        assert response.status_code == 422, f"{name}: {response.text}"
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        if body["user_id"] != a:
            assert_reveals_nothing_of(response, a, first.json()["transaction_id"])
    assert (edge.ledger.head(a).balance, edge.ledger.head(b).balance) == (500, 0)
    assert edge.ledger.head(a).seq == 1


def test_the_scheduler_account_cannot_report_usage_or_hold_credits(edge: Edge) -> None:
    uid = funded(edge)
    event = {"user_id": uid, "service": "chat", "amount": 10, "event_id": uuid.uuid4().hex}
    for path, body in (
        ("/api/v1/usage", event),
        ("/api/v1/usage/batch", {"events": [event]}),
        ("/api/v1/holds", {"user_id": uid, "service": "chat", "amount": 10}),
    ):
        response = edge.post(path, SCHEDULER_ACCOUNT, body)
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert edge.ledger.head(uid).seq == 1


def test_a_metering_account_cannot_run_hold_expiry_or_reconciliation(edge: Edge) -> None:
    for path in ("/api/v1/holds/expire", "/api/v1/reconcile"):
        response = edge.post(path, METERING, {})
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert edge.post("/api/v1/holds/expire", SCHEDULER_ACCOUNT, {}).status_code == 200


def test_a_service_name_the_caller_may_not_use_is_403_and_charges_nothing(edge: Edge) -> None:
    uid = funded(edge)

    def event(service: str) -> dict[str, Any]:
        return {"user_id": uid, "service": service, "amount": 10, "event_id": uuid.uuid4().hex}

    refused = [
        ("/api/v1/usage", OTHER_METERING, event("chat")),
        ("/api/v1/usage", METERING, event("reports")),
        ("/api/v1/usage/batch", OTHER_METERING, {"events": [event("reports"), event("chat")]}),
        ("/api/v1/holds", OTHER_METERING, {"user_id": uid, "service": "ai", "amount": 10}),
    ]
    for path, headers, body in refused:
        response = edge.post(path, headers, body)
        assert response.status_code == 403, f"{path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
    assert edge.ledger.head(uid).seq == 1
    allowed = edge.post("/api/v1/usage", OTHER_METERING, event("reports"))
    assert allowed.status_code == 201, allowed.text
