"""Notifications to the event service (seed 004 ``EVENT_SERVICE_URL``) through an outbox.

An outcome (payment succeeded, refund succeeded, ...) is written as an outbox document in the
same commit as the state change; a trigger delivers it as signed JSON, at least once, retrying
with backoff, and parks it (visible, never lost) after ``OUTBOX_MAX_ATTEMPTS`` failures (a
setting). The document id is the event id, deterministic from what happened, so the receiver
can dedupe on it.

Signature: header ``X-Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``"<t>.<raw body>"`` with the shared secret, the same scheme Stripe uses for its webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SIGNATURE_HEADER = "X-Billing-Signature"
EVENT_ID_HEADER = "X-Billing-Event-Id"
SIGNATURE_TOLERANCE_SECONDS = 300


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One notification: ``id`` is deterministic (e.g. ``payment.succeeded.pi_123``)."""

    type: str
    subject_id: str
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.type}.{self.subject_id}"


# The outcomes the event service hears of a payment or a refund; intermediate states are not
# notified.
NOTIFIED_OUTCOMES = frozenset({"succeeded", "failed", "canceled"})


def outcome_notification(
    kind: str, subject_id: str, status: str, data: Mapping[str, Any]
) -> OutboxMessage | None:
    """The event service's notice that ``kind`` ``subject_id`` reached ``status`` (e.g.
    ``payment.succeeded``), or None when ``status`` is not an outcome."""
    if status not in NOTIFIED_OUTCOMES:
        return None
    return OutboxMessage(f"{kind}.{status}", subject_id, {**data, "status": status})


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(body: bytes, header: str | None, secret: str, now: int) -> bool:
    """Return whether ``header`` signs ``body`` with ``secret`` within the tolerance."""
    if not header:
        return False
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(body, secret, int(timestamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff_seconds(attempts: int) -> int:
    """Pause before the next try after ``attempts`` failures: 2, 4, 8, ... capped at 5 minutes."""
    return int(min(300, 2**attempts))
