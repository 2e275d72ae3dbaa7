"""Typed errors from the service's error codes (``{"error": {"code", "message", "details"}}``).

The table duplicates the service's (``shared.errors.error_codes()``) on purpose: this package
imports nothing of the service. A test of the service keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class BillingError(Exception):
    """An error answer of the billing service, or a call that could not be completed."""

    code = "internal"
    status = 500

    def __init__(
        self,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.retry_after = retry_after


class InvalidRequest(BillingError):
    code, status = "invalid_request", 400


class Unauthenticated(BillingError):
    code, status = "unauthenticated", 401


class InsufficientCredits(BillingError):
    code, status = "insufficient_credits", 402


class CardDeclined(BillingError):
    code, status = "card_declined", 402


class Forbidden(BillingError):
    code, status = "forbidden", 403


class NotFound(BillingError):
    code, status = "not_found", 404


class MethodNotAllowed(BillingError):
    code, status = "method_not_allowed", 405


class Conflict(BillingError):
    code, status = "conflict", 409


class IdempotencyKeyReused(BillingError):
    code, status = "idempotency_key_reused", 422


class RateLimited(BillingError):
    code, status = "rate_limited", 429


class ProviderError(BillingError):
    code, status = "provider_error", 502


class Unavailable(BillingError):
    code, status = "unavailable", 503


class QueueFull(BillingError):
    """The batcher's queue stayed full for the whole wait: the event was not taken (retry it)."""

    code, status = "client_queue_full", 0


ERRORS: dict[str, type[BillingError]] = {
    error.code: error
    for error in (
        BillingError,
        InvalidRequest,
        Unauthenticated,
        InsufficientCredits,
        CardDeclined,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        IdempotencyKeyReused,
        RateLimited,
        ProviderError,
        Unavailable,
    )
}

# Statuses worth asking again with the same request (event ids and hold ids keep it safe).
RETRYABLE_STATUSES = frozenset({409, 429, 503})


def error_codes() -> dict[str, int]:
    """The code → HTTP status table this client knows (equal to the service's)."""
    return {code: error.status for code, error in ERRORS.items()}


def error_from_body(
    status: int, body: Mapping[str, Any] | None, retry_after: float | None = None
) -> BillingError:
    """Build the typed error for an error body; an unknown code falls back on the status."""
    error = (body or {}).get("error") or {}
    code = error.get("code") if isinstance(error, Mapping) else None
    kind = ERRORS.get(str(code)) or _by_status(status)
    message = str(error.get("message") or f"HTTP {status}") if isinstance(error, Mapping) else ""
    details = error.get("details") if isinstance(error, Mapping) else None
    return kind(message, details if isinstance(details, Mapping) else None, retry_after=retry_after)


def _by_status(status: int) -> type[BillingError]:
    for error in ERRORS.values():
        if error.status == status:
            return error
    return BillingError
