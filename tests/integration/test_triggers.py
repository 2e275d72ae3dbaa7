"""The ledger triggers fed production CloudEvents through functions-framework, on the emulator.

Each test has its own Firestore project; the push sender records instead of calling FCM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from devstack.stack import ROOT
from shared import bootstrap
from shared.accounts.alerts import PushNotification, PushResult, PushSender
from shared.adapters.firestore_events import (
    CREATED,
    cloud_event_headers,
    encode_document_event,
    full_name,
)
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_to_document
from shared.config import Settings
from shared.ledger.entries import EntryType, LedgerEntry, Posting

pytestmark = pytest.mark.stack


class RecordingPushSender(PushSender):
    def __init__(self) -> None:
        self.sent: list[tuple[list[str], PushNotification]] = []

    def send(self, tokens: Sequence[str], notification: PushNotification) -> PushResult:
        self.sent.append((list(tokens), notification))
        return PushResult(len(tokens))


@pytest.fixture
def pushes(project_id: str) -> RecordingPushSender:
    sender = RecordingPushSender()
    wired = bootstrap.Services(
        Settings.from_environment(firebase_project_id=project_id, push_sender="log"),
        overrides=bootstrap.ServiceParts(push_sender=sender),
    )
    bootstrap.override(wired)
    return sender


@pytest.fixture
def ledger(firestore_client: Any) -> FirestoreLedger:
    return FirestoreLedger(firestore_client)


def trigger(name: str) -> Any:
    import functions_framework

    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        name, str(ROOT / "main.py"), "cloudevent"
    )
    return app.test_client()


def deliver(project: str, entry: LedgerEntry, event_id: str | None = None) -> None:
    path = f"{TRANSACTIONS}/{entry.id}"
    body = encode_document_event(full_name(project, path), entry_to_document(entry))
    headers = cloud_event_headers(CREATED, project, path, event_id=event_id or f"evt-{entry.id}")
    for name in ("ledger_entry_projection", "ledger_entry_low_balance_alert"):
        response = trigger(name).post("/", headers=headers, data=body)
        assert response.status_code == 200, (name, response.get_data(as_text=True))


def alerts(client: Any, uid: str) -> list[dict[str, Any]]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client.collection("low_balance_alerts").where(filter=FieldFilter("user_id", "==", uid))
    return [d.to_dict() for d in query.stream()]


def projection(client: Any, uid: str) -> dict[str, Any]:
    return client.collection("user_credits").document(uid).get().to_dict() or {}


def test_the_same_event_five_times_and_reverse_order_give_one_alert_and_the_newest_seq(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    uid = "alice"
    firestore_client.collection("user_devices").document(uid).collection("tokens").document(
        "d1"
    ).set({"token": "fcm-token-1", "platform": "android"})
    entries = [
        *ledger.append(uid, [Posting(EntryType.PURCHASE, 10_000)]).entries,
        *ledger.append(uid, [Posting(EntryType.BONUS, 1_000)]).entries,
        *ledger.append(uid, [Posting(EntryType.USAGE, -7_000, service="chat")]).entries,  # 4000
        *ledger.append(uid, [Posting(EntryType.USAGE, -500, service="chat")]).entries,  # 3500
    ]
    crossing = entries[2]

    for _ in range(5):
        deliver(project_id, crossing, event_id="same-event")
    for entry in reversed(entries):
        deliver(project_id, entry)

    stored = alerts(firestore_client, uid)
    assert len(stored) == 1
    assert stored[0]["seq"] == crossing.seq
    assert (stored[0]["available_before"], stored[0]["available_after"]) == (11_000, 4_000)
    assert stored[0]["push_status"] == "sent"
    assert len(pushes.sent) == 1
    assert pushes.sent[0][0] == ["fcm-token-1"]
    assert pushes.sent[0][1].data["alert_id"] == crossing.id

    view = projection(firestore_client, uid)
    assert view["seq"] == 4
    assert (view["balance"], view["held"], view["available"]) == (3_500, 0, 3_500)
    assert (view["total_purchased"], view["total_bonus"], view["total_used"]) == (
        10_000,
        1_000,
        7_500,
    )
    assert view["total_refunded"] == 0


def test_an_older_event_never_moves_the_projection_back(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    first = ledger.append("bob", [Posting(EntryType.GRANT, 100)]).entries[0]
    second = ledger.append("bob", [Posting(EntryType.USAGE, -40)]).entries[0]
    deliver(project_id, second)
    assert projection(firestore_client, "bob")["seq"] == 2
    deliver(project_id, first)
    assert projection(firestore_client, "bob")["seq"] == 2
    assert projection(firestore_client, "bob")["balance"] == 60


def test_the_projection_keeps_the_users_settings_and_their_threshold_wins(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    firestore_client.collection("user_credits").document("carol").set(
        {"settings": {"low_balance_threshold": 200}}
    )
    entries = [
        *ledger.append("carol", [Posting(EntryType.GRANT, 1_000)]).entries,
        *ledger.append("carol", [Posting(EntryType.USAGE, -700)]).entries,  # 300: above 200
        *ledger.append("carol", [Posting(EntryType.USAGE, -150)]).entries,  # 150: crosses 200
    ]
    for entry in entries:
        deliver(project_id, entry)
    view = projection(firestore_client, "carol")
    assert view["settings"] == {"low_balance_threshold": 200}
    assert view["balance"] == 150
    assert [a["seq"] for a in alerts(firestore_client, "carol")] == [3]
    assert pushes.sent == []  # no registered device: the alert is recorded, nothing pushed
    assert alerts(firestore_client, "carol")[0]["push_status"] == "no_devices"


def test_a_hold_that_eats_into_the_threshold_alerts_and_a_top_up_re_arms(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    entries = [
        *ledger.append("dave", [Posting(EntryType.GRANT, 6_000)]).entries,
        *ledger.append("dave", [Posting(EntryType.HOLD, 0, held_delta=2_000)]).entries,  # 4000
        *ledger.append("dave", [Posting(EntryType.USAGE, -1_000)]).entries,  # 3000: still below
        *ledger.append("dave", [Posting(EntryType.GRANT, 5_000)]).entries,  # 8000: re-armed
        *ledger.append("dave", [Posting(EntryType.USAGE, -4_000)]).entries,  # 4000: crosses again
    ]
    for entry in entries:
        deliver(project_id, entry)
    assert sorted(a["seq"] for a in alerts(firestore_client, "dave")) == [2, 5]
    view = projection(firestore_client, "dave")
    assert (view["balance"], view["held"], view["available"]) == (6_000, 2_000, 4_000)
    assert view["total_used"] == 5_000


def test_a_malformed_event_is_dropped_without_retry(pushes: RecordingPushSender) -> None:
    headers = cloud_event_headers(CREATED, "p", "credit_transactions/x_0000000001")
    body = encode_document_event(full_name("p", "credit_transactions/x"), {"nonsense": 1})
    assert (
        trigger("ledger_entry_projection").post("/", headers=headers, data=body).status_code == 200
    )
