"""Domain errors, each carrying the API error code and HTTP status it maps to (docs/api.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class BillingError(Exception):
    """Base of every error the service answers with on purpose."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidRequest(BillingError):
    code = "invalid_request"
    status = 400


class SignatureInvalid(InvalidRequest):
    """A webhook whose signature does not check out, from any provider: 400 naming the header."""

    def __init__(self, header: str, problem: str) -> None:
        super().__init__(f"{header}: {problem}", {"fields": {header: problem}})


class Unauthenticated(BillingError):
    code = "unauthenticated"
    status = 401


class Forbidden(BillingError):
    code = "forbidden"
    status = 403


class NotFound(BillingError):
    code = "not_found"
    status = 404


class MethodNotAllowed(BillingError):
    code = "method_not_allowed"
    status = 405


class InsufficientCredits(BillingError):
    code = "insufficient_credits"
    status = 402


class PaymentDeclined(BillingError):
    """The card was declined: 402 with Stripe's decline code (seed 004)."""

    code = "card_declined"
    status = 402


class Conflict(BillingError):
    code = "conflict"
    status = 409


class IdempotencyKeyReused(BillingError):
    code = "idempotency_key_reused"
    status = 422


class RateLimited(BillingError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class ProviderError(BillingError):
    code = "provider_error"
    status = 502


class ProviderRejected(ProviderError):
    """The provider answered no (a 4xx): nothing was created there, and asking again is futile."""


class Unavailable(BillingError):
    """Retryable: the caller may try again later with the same request."""

    code = "unavailable"
    status = 503


class LedgerContention(Unavailable):
    """The account's next ledger entry kept being taken by concurrent writers."""


def invalid_field(field: str, problem: str) -> InvalidRequest:
    """Build the 400 for one bad field, naming it in ``details``."""
    return InvalidRequest(f"{field}: {problem}", {"fields": {field: problem}})


def error_codes() -> dict[str, int]:
    """Every error code the service answers with, and its HTTP status: the one table of them.

    Each code is a ``BillingError`` class of this module (subclasses elsewhere refine a case but
    reuse their parent's code), plus ``internal`` for the 500 that carries no details.
    """
    codes: dict[str, int] = {}
    pending: list[type[BillingError]] = [BillingError]
    while pending:
        error = pending.pop()
        if codes.setdefault(error.code, error.status) != error.status:
            raise AssertionError(f"{error.code} answers with two statuses")
        pending.extend(error.__subclasses__())
    return codes
