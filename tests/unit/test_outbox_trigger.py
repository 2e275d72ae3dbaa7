"""The outbox trigger on an event it cannot decode: logged once, never retried for 24 hours.

Firestore triggers are deployed with retries (registry ``retry``), so raising asks Eventarc to
redeliver the same undecodable bytes until the event ages out; nothing would ever change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from cloudevents.http import CloudEvent

from functions.triggers_outbox import deliver_outbox
from shared import bootstrap
from shared.adapters.event_service import OutboxDelivery
from shared.adapters.firestore_events import CREATED
from shared.bootstrap import ServiceParts, Services
from shared.config import Settings


class RecordingDelivery:
    def __init__(self) -> None:
        self.delivered: list[str] = []

    def deliver(self, event_id: str) -> None:
        self.delivered.append(event_id)


@pytest.fixture
def delivery() -> Iterator[RecordingDelivery]:
    recording = RecordingDelivery()
    parts = ServiceParts(outbox_delivery=cast(OutboxDelivery, recording))
    bootstrap.override(Services(Settings(), overrides=parts))
    yield recording
    bootstrap.override(None)


def event(data: Any) -> CloudEvent:
    attributes = {"type": CREATED, "source": "//firestore.googleapis.com/test", "id": "e1"}
    return CloudEvent(attributes, data)


@pytest.mark.parametrize("data", [b"\xff\x00 not a protobuf", b"", None])
def test_an_undecodable_outbox_event_is_logged_and_not_retried(
    delivery: RecordingDelivery, data: Any, caplog: pytest.LogCaptureFixture
) -> None:
    deliver_outbox(event(data))  # returning (not raising) acknowledges the event
    assert delivery.delivered == []
    assert any("outbox" in record.getMessage() for record in caplog.records)
