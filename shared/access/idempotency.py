"""Idempotency-Key semantics of docs/api.md, as Stripe defines them.

Same key + same request → the first response again; same key + different request → 422;
same key while the first request still runs → 409. Keys are scoped to the caller and the
endpoint, so one user can never see another's cached response, and they expire after 24 hours.
Server errors (5xx), conflicts and rate limits are not stored: the client may retry them.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.errors import invalid_field

KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# An in-progress record older than this belongs to a request that died; a retry may take over.
ABANDONED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Mapping[str, Any]


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise invalid_field(KEY_HEADER, f"must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


def scoped_key(caller: str, endpoint: str, key: str) -> str:
    """Return the storage key: the client's key within its caller's and endpoint's scope."""
    return hashlib.sha256(f"{caller}\x00{endpoint}\x00{key}".encode()).hexdigest()


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Fingerprint what makes two requests 'the same': method, path and JSON body.

    JSON is compared after canonical re-encoding, so key order and whitespace do not matter.
    """
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def is_replayable(status: int) -> bool:
    """Whether a response is stored for replay (Stripe: not 5xx, not concurrency conflicts)."""
    return status < 500 and status not in (409, 429)


class IdempotencyStore(ABC):
    """Port: where idempotency records live."""

    @abstractmethod
    def begin(self, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim ``key`` (return None) or return its stored response.

        Raises ``IdempotencyKeyReused`` for another request's key and ``Conflict`` while the
        first request with this key still runs.
        """

    @abstractmethod
    def finish(self, key: str, response: StoredResponse) -> None:
        """Store the response of the request that claimed ``key``."""

    @abstractmethod
    def abandon(self, key: str) -> None:
        """Release ``key`` without a stored response, so that a retry runs afresh."""
