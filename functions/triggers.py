"""Firestore-triggered CloudEvent functions on ledger entry creation.

Each receives the CloudEvent exactly as Eventarc delivers it: binary mode, data a serialized
protobuf ``DocumentEventData``. Delivery is at least once and unordered; both functions are
idempotent (deterministic ids, projections computed from the ledger) and monotonic. An exception
makes the function fail, so Eventarc (or the local relay) retries the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.bootstrap import services
from shared.log import get_logger

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared.ledger.entries import LedgerEntry

log = get_logger("triggers")


def ledger_entry_projection(event: CloudEvent) -> None:
    """Keep ``user_credits/{uid}`` at the account's ledger head."""
    from shared.accounts.projection import sync_projection

    entry = _created_entry(event)
    if entry is None:
        return
    seq = sync_projection(services().projections, entry)
    log.info(
        "balance projected",
        extra={
            "event_id": event["id"],
            "user_id": entry.user_id,
            "entry_seq": entry.seq,
            "seq": seq,
        },
    )


def ledger_entry_low_balance_alert(event: CloudEvent) -> None:
    """Record and push one alert when an entry takes available credits below the threshold."""
    from shared.accounts.alerts import raise_low_balance_alert

    entry = _created_entry(event)
    if entry is None:
        return
    svc = services()
    alert = raise_low_balance_alert(svc.alerts, svc.push_sender, entry, svc.clock())
    if alert is not None:
        log.info(
            "low balance alert",
            extra={
                "event_id": event["id"],
                "user_id": entry.user_id,
                "alert_id": alert.id,
                "available": alert.available_after,
                "threshold": alert.threshold,
            },
        )


def _created_entry(event: CloudEvent) -> LedgerEntry | None:
    """Decode the ledger entry of a created-document event; None (no retry) if it is not one."""
    from shared.adapters.firestore_events import decode_document_event
    from shared.adapters.firestore_ledger_codec import entry_from_document

    try:
        change = decode_document_event(event.data)
        if change.value is None:
            raise ValueError("the event carries no document")
        return entry_from_document(change.value)
    except (ValueError, KeyError, TypeError):
        # A malformed event never gets better by retrying: log it and let it go.
        log.exception("not a ledger entry event", extra={"event_id": event["id"]})
        return None
