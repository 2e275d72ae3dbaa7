"""Outbox delivery: a production-shaped Firestore CloudEvent runs the trigger, which POSTs signed
JSON to the event service, retries with backoff, and parks a notification that keeps failing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.event_receiver import EventReceiver, serve
from devstack.stack import Stack
from shared import bootstrap
from shared.adapters.event_service import OutboxDelivery
from shared.adapters.firestore_events import (
    CREATED,
    cloud_event_headers,
    encode_document_event,
    full_name,
)
from shared.adapters.firestore_outbox import outbox_document
from shared.bootstrap import ServiceParts, Services
from shared.payments.outbox import OutboxMessage

pytestmark = pytest.mark.stack

SECRET = "test-event-secret"
MAIN = str(Path(__file__).resolve().parents[2] / "main.py")


@pytest.fixture
def receiver() -> Iterator[tuple[EventReceiver, str]]:
    state = EventReceiver(SECRET, echo=lambda line: None)
    server = serve(state, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/events"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sleeps(
    stack_env: Stack,
    project_id: str,
    receiver: tuple[EventReceiver, str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[float]:
    """Wire this process like a deployed trigger on the test's project; record backoff pauses."""
    monkeypatch.setenv("FIREBASE_PROJECT_ID", project_id)
    client = Services().firestore
    paused: list[float] = []
    delivery = OutboxDelivery(client, receiver[1], SECRET, max_attempts=4, sleep=paused.append)
    services = Services(overrides=ServiceParts(firestore=client, outbox_delivery=delivery))
    bootstrap.override(services)
    return paused


def write_outbox(firestore_client: Any, message: OutboxMessage) -> dict[str, Any]:
    document = outbox_document(message, datetime.now(UTC))
    firestore_client.collection("outbox").document(message.id).set(document)
    return document


def fire(project_id: str, message: OutboxMessage, document: dict[str, Any]) -> int:
    """Deliver the ``created`` CloudEvent for the outbox document, as Eventarc would."""
    import functions_framework

    app = functions_framework.create_app("deliver_outbox", MAIN, "cloudevent")  # type: ignore[no-untyped-call]
    client = app.test_client()
    path = f"outbox/{message.id}"
    response = client.post(
        "/",
        data=encode_document_event(full_name(project_id, path), document),
        headers=cloud_event_headers(CREATED, project_id, path),
    )
    return int(response.status_code)


def outbox_state(firestore_client: Any, message: OutboxMessage) -> dict[str, Any]:
    return dict(firestore_client.collection("outbox").document(message.id).get().to_dict())


def test_a_failing_receiver_gets_the_notification_once_it_recovers(
    project_id: str,
    firestore_client: Any,
    receiver: tuple[EventReceiver, str],
    sleeps: list[float],
) -> None:
    state, _ = receiver
    state.fail_first = 2
    message = OutboxMessage("payment.succeeded", "pi_retry", {"amount": 1000})
    document = write_outbox(firestore_client, message)

    assert fire(project_id, message, document) == 500  # raised: the platform will redeliver
    assert outbox_state(firestore_client, message)["attempts"] == 1
    assert fire(project_id, message, document) == 500
    assert fire(project_id, message, document) == 200
    assert fire(project_id, message, document) == 200  # a late redelivery sends nothing

    stored = outbox_state(firestore_client, message)
    assert (stored["status"], stored["attempts"]) == ("delivered", 3)
    assert state.requests == 3  # two failures, one success, nothing after delivery
    assert list(state.acted_on) == ["payment.succeeded.pi_retry"]  # its signature checked out
    assert state.acted_on["payment.succeeded.pi_retry"]["data"] == {"amount": 1000}
    assert state.rejected == 0
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]  # redeliveries waited out a growing backoff


def test_a_notification_that_keeps_failing_is_parked_not_lost(
    project_id: str,
    firestore_client: Any,
    receiver: tuple[EventReceiver, str],
    sleeps: list[float],
) -> None:
    state, _ = receiver
    state.fail_first = 100
    message = OutboxMessage("refund.succeeded", "re_parked", {"amount": 5})
    document = write_outbox(firestore_client, message)

    codes = [fire(project_id, message, document) for _ in range(5)]

    assert codes == [500, 500, 500, 200, 200]  # parked on the 4th try; then left alone
    stored = outbox_state(firestore_client, message)
    assert (stored["status"], stored["attempts"]) == ("parked", 4)
    assert stored["last_error"] == "HTTP 503"
    assert state.requests == 4


def test_the_receiver_rejects_an_unsigned_or_forged_notification(
    receiver: tuple[EventReceiver, str],
) -> None:
    import requests

    state, url = receiver
    body = b'{"id": "payment.succeeded.pi_forged", "type": "payment.succeeded"}'
    forged = {"X-Billing-Signature": "t=1,v1=00"}
    assert requests.post(url, data=body, timeout=5).status_code == 400
    assert requests.post(url, data=body, headers=forged, timeout=5).status_code == 400
    assert state.acted_on == {}
