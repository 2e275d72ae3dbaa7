"""Firestore trigger: deliver each new outbox document to the event service (seed 004)."""

from __future__ import annotations

from typing import Any

from shared.bootstrap import services
from shared.log import get_logger

log = get_logger("triggers")


def deliver_outbox(cloud_event: Any) -> None:
    """On ``outbox/{event_id}`` created: one delivery try; raising asks for a redelivery."""
    from shared.adapters.firestore_events import decode_document_event

    try:
        change = decode_document_event(cloud_event.get_data())
        if change.value is None or change.collection != "outbox" or not change.document_id:
            raise ValueError("the event carries no outbox document")
        event_id = change.document_id
    except (ValueError, KeyError, TypeError, IndexError):
        # Undecodable bytes stay undecodable: a retry would only repeat this for 24 hours.
        log.exception("not an outbox event", extra={"event_id": cloud_event["id"]})
        return
    services().outbox_delivery.deliver(event_id)
