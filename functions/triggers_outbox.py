"""Firestore trigger: deliver each new outbox document to the event service (seed 004)."""

from __future__ import annotations

from typing import Any

from shared.bootstrap import services


def deliver_outbox(cloud_event: Any) -> None:
    """On ``outbox/{event_id}`` created: one delivery try; raising asks for a redelivery."""
    from shared.adapters.firestore_events import decode_document_event

    change = decode_document_event(cloud_event.get_data())
    services().outbox_delivery.deliver(change.document_id)
