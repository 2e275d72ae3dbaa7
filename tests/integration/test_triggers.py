"""The low-balance trigger fed production CloudEvents through functions-framework, on the emulator.

Every ledger commit writes the account document ``user_credits/{uid}`` (the head pointer); the
trigger gets that document before and after each commit, as Eventarc's ``written`` event
carries them. Each test has its own Firestore project; the push sender records instead of
calling FCM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from devstack.stack import ROOT
from shared import bootstrap
from shared.accounts.alerts import PushNotification, PushResult, PushSender
from shared.adapters.firestore_events import (
    WRITTEN,
    cloud_event_headers,
    encode_document_event,
    full_name,
)
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.config import Settings
from shared.ledger.entries import EntryType, Posting

pytestmark = pytest.mark.stack

Document = dict[str, Any]


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


def trigger() -> Any:
    import functions_framework

    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        "account_low_balance_alert", str(ROOT / "main.py"), "cloudevent"
    )
    return app.test_client()


def account(client: Any, uid: str) -> Document | None:
    data = client.collection("user_credits").document(uid).get().to_dict()
    return None if data is None else dict(data)


def commits(
    client: Any, ledger: FirestoreLedger, uid: str, changes: list[list[Posting]]
) -> list[tuple[Document | None, Document]]:
    """Apply each change in its own commit; return the account document before and after each."""
    written = []
    for postings in changes:
        before = account(client, uid)
        ledger.append(uid, postings)
        after = account(client, uid)
        assert after is not None
        written.append((before, after))
    return written


def deliver(project: str, uid: str, old: Document | None, new: Document, event_id: str) -> None:
    path = f"user_credits/{uid}"
    body = encode_document_event(full_name(project, path), new, old)
    headers = cloud_event_headers(WRITTEN, project, path, event_id=event_id)
    response = trigger().post("/", headers=headers, data=body)
    assert response.status_code == 200, response.get_data(as_text=True)


def alerts(client: Any, uid: str) -> list[dict[str, Any]]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client.collection("low_balance_alerts").where(filter=FieldFilter("user_id", "==", uid))
    return [d.to_dict() for d in query.stream()]


def test_the_same_event_five_times_and_reverse_order_give_one_alert(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    uid = "alice"
    firestore_client.collection("user_devices").document(uid).collection("tokens").document(
        "d1"
    ).set({"token": "fcm-token-1", "platform": "android"})
    written = commits(firestore_client, ledger, uid, [
        [Posting(EntryType.PURCHASE, 10_000)],
        [Posting(EntryType.BONUS, 1_000)],
        [Posting(EntryType.USAGE, -7_000, service="chat")],  # 4000: crosses ₹50
        [Posting(EntryType.USAGE, -500, service="chat")],  # 3500: below already
    ])  # fmt: skip

    for _ in range(5):
        deliver(project_id, uid, *written[2], event_id="same-event")
    for n, (old, new) in reversed(list(enumerate(written))):
        deliver(project_id, uid, old, new, event_id=f"evt-{n}")

    stored = alerts(firestore_client, uid)
    assert len(stored) == 1
    assert stored[0]["seq"] == 3
    assert (stored[0]["available_before"], stored[0]["available_after"]) == (11_000, 4_000)
    assert stored[0]["push_status"] == "sent"
    assert len(pushes.sent) == 1
    assert pushes.sent[0][0] == ["fcm-token-1"]
    assert pushes.sent[0][1].data["alert_id"] == "alice_0000000003"


def test_the_ledger_commit_writes_what_clients_read_and_keeps_the_users_settings(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    firestore_client.collection("user_credits").document("carol").set(
        {"settings": {"low_balance_threshold": 200}}
    )
    written = commits(firestore_client, ledger, "carol", [
        [Posting(EntryType.GRANT, 1_000)],
        [Posting(EntryType.USAGE, -700)],  # 300: above 200
        [Posting(EntryType.USAGE, -150)],  # 150: crosses 200
    ])  # fmt: skip
    for n, (old, new) in enumerate(written):
        deliver(project_id, "carol", old, new, event_id=f"carol-{n}")
    view = account(firestore_client, "carol") or {}
    assert view["settings"] == {"low_balance_threshold": 200}
    assert (view["seq"], view["balance"], view["held"], view["available"]) == (3, 150, 0, 150)
    assert (view["total_granted"], view["total_used"], view["total_refunded"]) == (1_000, 850, 0)
    assert [a["seq"] for a in alerts(firestore_client, "carol")] == [3]
    assert pushes.sent == []  # no registered device: the alert is recorded, nothing pushed
    assert alerts(firestore_client, "carol")[0]["push_status"] == "no_devices"


def test_a_hold_that_eats_into_the_threshold_alerts_and_a_top_up_re_arms(
    project_id: str, firestore_client: Any, ledger: FirestoreLedger, pushes: RecordingPushSender
) -> None:
    written = commits(firestore_client, ledger, "dave", [
        [Posting(EntryType.GRANT, 6_000)],
        [Posting(EntryType.HOLD, 0, held_delta=2_000)],  # 4000 available
        [Posting(EntryType.USAGE, -1_000)],  # 3000: still below
        [Posting(EntryType.GRANT, 5_000)],  # 8000: re-armed
        [Posting(EntryType.USAGE, -4_000)],  # 4000: crosses again
    ])  # fmt: skip
    for n, (old, new) in enumerate(written):
        deliver(project_id, "dave", old, new, event_id=f"dave-{n}")
    assert sorted(a["seq"] for a in alerts(firestore_client, "dave")) == [2, 5]


def test_a_settings_write_and_a_malformed_event_are_dropped_without_retry(
    project_id: str, pushes: RecordingPushSender
) -> None:
    settings = {"settings": {"low_balance_threshold": 100_000}}
    deliver(project_id, "erin", {"seq": 4, "available": 5_000}, {"seq": 4, "available": 5_000,
            **settings}, event_id="settings")  # fmt: skip
    headers = cloud_event_headers(WRITTEN, "p", "user_credits/x")
    body = encode_document_event(full_name("p", "user_credits/x"), {"seq": "nonsense"})
    assert trigger().post("/", headers=headers, data=body).status_code == 200
