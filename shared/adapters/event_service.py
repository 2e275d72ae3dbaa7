"""Deliver outbox documents to the event service: signed JSON POST, attempts recorded, parked.

One delivery try per trigger invocation. A failed try is recorded on the document (attempts,
last error, when the next try is due) and raised, so the platform redelivers the event (at least
once); a redelivery that comes early waits out the backoff first. After ``max_attempts`` failed
tries the document is parked: left in place with status ``parked``, visible, never lost.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters.firestore_client import rpc_options
from shared.adapters.firestore_outbox import OUTBOX
from shared.log import get_logger
from shared.payments.outbox import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    OutboxStatus,
    backoff_seconds,
    sign,
)

if TYPE_CHECKING:
    from google.cloud import firestore

log = get_logger("outbox")
MAX_WAIT_SECONDS = 60.0  # longest an early redelivery waits in-process for its backoff

Post = Callable[[str, bytes, dict[str, str], float], int]


def payload(document: Mapping[str, Any]) -> bytes:
    """Return the JSON body sent for an outbox document (stable key order)."""
    created = document.get("created_at")
    body = {
        "id": document["event_id"],
        "type": document["type"],
        "created": created.isoformat() if isinstance(created, datetime) else created,
        "data": document.get("data") or {},
    }
    return json.dumps(body, sort_keys=True, default=str).encode()


class DeliveryFailed(Exception):
    """Raised so that the trigger's platform redelivers the event later."""


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` and return the HTTP status (0 when the receiver could not be reached)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


class OutboxDelivery:
    def __init__(
        self,
        client: firestore.Client,
        url: str | None,
        secret: str,
        *,
        max_attempts: int = 5,
        timeout_seconds: float = 10.0,
        post: Post = post_json,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = client
        self._url = url
        self._secret = secret
        self._max_attempts = max_attempts
        self._timeout = timeout_seconds
        self._rpc = rpc_options(timeout_seconds)
        self._post = post
        self._clock = clock
        self._sleep = sleep

    def deliver(self, event_id: str) -> OutboxStatus:
        """Try to deliver ``outbox/{event_id}``; raise ``DeliveryFailed`` to be retried."""
        ref = self._db.collection(OUTBOX).document(event_id)
        snapshot = ref.get(**self._rpc)
        data: dict[str, Any] = snapshot.to_dict() or {}
        status = OutboxStatus(data.get("status", OutboxStatus.PENDING.value))
        if not snapshot.exists or status is not OutboxStatus.PENDING:
            return status  # delivered or parked already: a redelivered event does nothing
        if not self._url:
            log.warning(
                "EVENT_SERVICE_URL is not set; notification stays pending", extra={"id": event_id}
            )
            return status
        self._wait_for_backoff(data.get("next_attempt_at"))
        body = payload(data)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret, int(self._clock().timestamp())),
            EVENT_ID_HEADER: str(data["event_id"]),
        }
        code = self._post(self._url, body, headers, self._timeout)
        attempts = int(data.get("attempts", 0)) + 1
        now = self._clock()
        if 200 <= code < 300:
            ref.set(
                {"status": OutboxStatus.DELIVERED.value, "attempts": attempts, "delivered_at": now},
                merge=True,
                **self._rpc,
            )
            return OutboxStatus.DELIVERED
        error = f"HTTP {code}" if code else "unreachable"
        if attempts >= self._max_attempts:
            ref.set(
                {
                    "status": OutboxStatus.PARKED.value,
                    "attempts": attempts,
                    "last_error": error,
                    "parked_at": now,
                },
                merge=True,
                **self._rpc,
            )
            parked = {"id": event_id, "type": str(data["type"]), "attempts": attempts}
            log.error("notification parked", extra=parked)
            return OutboxStatus.PARKED
        ref.set(
            {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts)),
            },
            merge=True,
            **self._rpc,
        )
        raise DeliveryFailed(f"{event_id}: attempt {attempts} failed ({error})")

    def _wait_for_backoff(self, due: object) -> None:
        if isinstance(due, datetime):
            wait = (due - self._clock()).total_seconds()
            if wait > 0:
                self._sleep(min(wait, MAX_WAIT_SECONDS))
