"""Firestore-triggered CloudEvent function on writes of the account document.

Every ledger commit writes the account's head pointer, ``user_credits/{uid}``, in the same
atomic commit as its entries, so client apps read a balance that is never behind the ledger and
no trigger copies it. The low-balance alert watches that document's ``written`` event: the head
before and after the commit and the user's threshold are all in the event, so most deliveries
read and write nothing.

The function receives the CloudEvent exactly as Eventarc delivers it: binary mode, data a
serialized protobuf ``DocumentEventData``. Delivery is at least once and unordered; the alert's
id is deterministic, so the function is idempotent. An exception makes the function fail, so
Eventarc (or the local relay) retries the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.bootstrap import services
from shared.log import get_logger

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared.accounts.alerts import BalanceChange

log = get_logger("triggers")


def account_low_balance_alert(event: CloudEvent) -> None:
    """Record and push one alert when a commit takes available credits below the threshold."""
    from shared.accounts.alerts import raise_low_balance_alert

    change = _balance_change(event)
    if change is None:
        return
    svc = services()
    alert = raise_low_balance_alert(svc.alerts, svc.push_sender, change, svc.clock())
    if alert is not None:
        log.info(
            "low balance alert",
            extra={
                "event_id": event["id"],
                "user_id": change.user_id,
                "alert_id": alert.id,
                "available": alert.available_after,
                "threshold": alert.threshold,
            },
        )


def _balance_change(event: CloudEvent) -> BalanceChange | None:
    """Decode a written-document event of ``user_credits``; None (no retry) for anything else."""
    from shared.adapters.firestore_alerts import balance_change
    from shared.adapters.firestore_events import decode_document_event

    try:
        change = decode_document_event(event.data)
        if change.value is None:
            return None  # the document was deleted: no balance went down
        return balance_change(change.document_id, change.old_value, change.value)
    except (ValueError, KeyError, TypeError):
        # A malformed event never gets better by retrying: log it and let it go.
        log.exception("not an account document event", extra={"event_id": event["id"]})
        return None
