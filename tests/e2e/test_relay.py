"""Through the local trigger relay: usage moves the projection and fires one alert per crossing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.entries import EntryType, Posting
from tests.conftest import eventually

pytestmark = pytest.mark.stack


@pytest.fixture
def gateway_db(stack_env: Stack) -> Any:
    from google.cloud import firestore

    return firestore.Client(project=stack_env.project)


def projected(db: Any, uid: str, seq: int) -> dict[str, Any] | None:
    data = db.collection("user_credits").document(uid).get().to_dict()
    return data if data and data.get("seq") == seq else None


def alert_seqs(db: Any, uid: str) -> list[int]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.collection("low_balance_alerts").where(filter=FieldFilter("user_id", "==", uid))
    return sorted(d.to_dict()["seq"] for d in query.stream())


def spend(gateway: str, headers: dict[str, str], uid: str, amount: int) -> dict[str, Any]:
    response = requests.post(
        f"{gateway}/api/v1/usage",
        json={"user_id": uid, "service": "chat", "amount": amount, "event_id": uuid.uuid4().hex},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_usage_moves_the_projection_and_alerts_once_per_crossing(
    gateway: str, service_headers, gateway_ledger: FirestoreLedger, gateway_db: Any
) -> None:
    uid = f"relay-{uuid.uuid4().hex[:12]}"
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 10_000, actor="test")])  # ₹100

    spend(gateway, service_headers, uid, 3_000)  # 7000: above ₹50
    view = eventually(lambda: projected(gateway_db, uid, 2))
    assert view is not None, "user_credits did not reach seq 2"
    assert (view["balance"], view["available"], view["total_used"]) == (7_000, 7_000, 3_000)
    assert alert_seqs(gateway_db, uid) == []

    spend(gateway, service_headers, uid, 2_500)  # 4500: crosses 5000
    assert eventually(lambda: alert_seqs(gateway_db, uid)) == [3]
    spend(gateway, service_headers, uid, 500)  # 4000: below already, no new alert
    assert eventually(lambda: projected(gateway_db, uid, 4)) is not None
    assert alert_seqs(gateway_db, uid) == [3]

    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 5_000, actor="test")])  # 9000: re-armed
    spend(gateway, service_headers, uid, 6_000)  # 3000: crosses again
    assert eventually(lambda: alert_seqs(gateway_db, uid) == [3, 6]), alert_seqs(gateway_db, uid)
    view = eventually(lambda: projected(gateway_db, uid, 6))
    assert view is not None
    assert (view["balance"], view["total_used"]) == (3_000, 12_000)


def test_entries_written_concurrently_converge_to_the_newest_seq(
    gateway: str, service_headers, gateway_ledger: FirestoreLedger, gateway_db: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    uid = f"relay-{uuid.uuid4().hex[:12]}"
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: spend(gateway, service_headers, uid, 10), range(20)))
    view = eventually(lambda: projected(gateway_db, uid, 21))
    assert view is not None, gateway_db.collection("user_credits").document(uid).get().to_dict()
    assert (view["balance"], view["total_used"]) == (800, 200)
