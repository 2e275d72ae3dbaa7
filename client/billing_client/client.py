"""``BillingClient``: usage, checks and holds over HTTP, with retries that never double-charge.

Every mutating call carries an id that the service applies at most once (``event_id``,
``hold_id``), so a retry after a lost answer, a 409 (same id still being applied), a 429 or a
503 sends the same request again and is charged once. ``Retry-After`` is honoured; otherwise the
pause doubles from ``backoff`` up to ``max_backoff``, with jitter.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from billing_client.errors import RETRYABLE_STATUSES, BillingError, Unavailable, error_from_body
from billing_client.identity import TokenProvider

if TYPE_CHECKING:
    from billing_client.budget import Budget


@dataclass(frozen=True, slots=True)
class UsageEvent:
    user_id: str
    service: str
    amount: int
    event_id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": self.user_id,
            "service": self.service,
            "amount": self.amount,
            "event_id": self.event_id,
        }
        if self.description:
            body["description"] = self.description
        if self.metadata:
            body["metadata"] = dict(self.metadata)
        return body


@dataclass(frozen=True, slots=True)
class Charge:
    event_id: str
    transaction_id: str
    balance_after: int
    replayed: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Charge:
        return cls(
            str(body["event_id"]),
            str(body["transaction_id"]),
            int(body["balance_after"]),
            bool(body.get("replayed", False)),
        )


# The deployed function behind each service endpoint. Service endpoints are private Cloud
# Functions, called at their own URL (https://REGION-PROJECT.cloudfunctions.net/NAME followed by
# the path), not through Hosting, which cannot carry the caller's ID token.
FUNCTIONS = {
    "/api/v1/usage": "usage_record",
    "/api/v1/usage/batch": "usage_batch",
    "/api/v1/holds": "holds_place",
    "/api/v1/holds/{hold_id}/capture": "holds_capture",
    "/api/v1/holds/{hold_id}/release": "holds_release",
    "/api/v1/usage/{event_id}/void": "usage_void",
    "/api/v1/credits/check": "credits_check",
}


def function_of(path: str) -> str:
    """The function that serves ``path`` (a path of ``FUNCTIONS``, its ``{params}`` filled)."""
    parts = path.split("/")
    for pattern, name in FUNCTIONS.items():
        wanted = pattern.split("/")
        if len(wanted) == len(parts) and all(
            w == p or w.startswith("{") for w, p in zip(wanted, parts, strict=True)
        ):
            return name
    raise ValueError(f"{path} is not a service endpoint")


class BillingClient:
    """Calls the billing service's service endpoints as one service identity.

    ``base_url`` is where every path is served: the local gateway (``make dev``), or, with
    ``per_function=True``, the Cloud Functions host of production, where each endpoint is its
    own function (``BillingClient.for_cloud_functions`` builds that).
    """

    @classmethod
    def for_cloud_functions(
        cls, region: str, project: str, tokens: TokenProvider, **options: Any
    ) -> BillingClient:
        """A client of the deployed service: each call goes to its own function's URL."""
        base = f"https://{region}-{project}.cloudfunctions.net"
        return cls(base, tokens, per_function=True, **options)

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        max_attempts: int = 5,
        backoff: float = 0.05,
        max_backoff: float = 5.0,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        per_function: bool = False,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._per_function = per_function
        self._tokens = tokens
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._session = session or requests.Session()
        self._sleep = sleep
        self.requests_sent = 0  # HTTP requests, retries included (benchmarks read it)

    # --- usage ---------------------------------------------------------------------------------

    def charge(self, event: UsageEvent) -> Charge:
        """Charge one usage event (one request); a repeat of its event_id is charged once."""
        return Charge.from_json(self.post("/api/v1/usage", event.to_json()))

    def charge_batch(self, events: Sequence[UsageEvent]) -> list[Charge | BillingError]:
        """Charge up to 100 events in one request; each result is a charge or its typed error."""
        body = self.post("/api/v1/usage/batch", {"events": [e.to_json() for e in events]})
        results: list[Charge | BillingError] = []
        for item in body["data"]:
            if item.get("status") == "charged":
                results.append(Charge.from_json(item))
            else:
                results.append(error_from_body(200, item))
        return results

    def void(self, event_id: str, service: str) -> dict[str, Any]:
        """Take back a charge of ``service`` within its void window; a repeat answers the same."""
        return self.post(f"/api/v1/usage/{event_id}/void", {"service": service})

    def check(self, user_id: str, amount: int) -> bool:
        """Could the account spend ``amount`` now? One read at the service, nothing written.

        An answer, not a reservation: to be sure the credits are still there, place a hold.
        """
        return bool(
            self.post("/api/v1/credits/check", {"user_id": user_id, "amount": amount})["allowed"]
        )

    # --- holds ---------------------------------------------------------------------------------

    def place_hold(
        self,
        user_id: str,
        service: str,
        amount: int,
        hold_id: str | None = None,
        expires_in: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user_id": user_id,
            "service": service,
            "amount": amount,
            # Our own id, so a retried placement holds once.
            "hold_id": hold_id or f"hold_{uuid.uuid4().hex}",
        }
        if expires_in is not None:
            body["expires_in"] = expires_in
        return self.post("/api/v1/holds", body)

    def capture_hold(self, hold_id: str, amount: int | None = None) -> dict[str, Any]:
        body = {} if amount is None else {"amount": amount}
        return self.post(f"/api/v1/holds/{hold_id}/capture", body)

    def release_hold(self, hold_id: str) -> dict[str, Any]:
        return self.post(f"/api/v1/holds/{hold_id}/release", {})

    @contextmanager
    def hold(
        self,
        user_id: str,
        service: str,
        amount: int,
        hold_id: str | None = None,
        expires_in: int | None = None,
    ) -> Iterator[Hold]:
        """Reserve ``amount``; capture what the block used on exit, release all on an error.

        Captures are made once, at the end: one hold, many uses inside the block, one capture.
        """
        placed = self.place_hold(user_id, service, amount, hold_id, expires_in)
        hold = Hold(str(placed["hold_id"]), amount)
        try:
            yield hold
        except BaseException:
            # The block's error is the one to raise; a release that fails too leaves the hold
            # to expire on schedule (credits come back then), so it is not allowed to mask it.
            with suppress(BillingError):
                self.release_hold(hold.hold_id)
            raise
        if hold.used:
            hold.settlement = self.capture_hold(hold.hold_id, hold.used)
        else:
            hold.settlement = self.release_hold(hold.hold_id)

    def budget(
        self, user_id: str, credits: int, period: float, *, service: str, **options: Any
    ) -> Budget:
        """Hold ``credits`` per ``period`` seconds for the account, metered here (``Budget``).

        ``with client.budget("u_1", 5_000, 10, service="chat") as budget:
        budget.charge(event_id, 3)``: two balance commits per period however many events.
        """
        from billing_client.budget import Budget

        return Budget(self, user_id, credits, period, service=service, **options)

    # --- HTTP ----------------------------------------------------------------------------------

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``body``; retry 409/429/503 and lost answers; raise the typed error otherwise."""
        error: BillingError | None = None
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(self._pause(attempt, error))
            try:
                response = self._send(path, body)
            except (requests.ConnectionError, requests.Timeout) as lost:
                error = Unavailable(f"no answer from the billing service: {lost}")
                continue
            if response.status_code < 400:
                answer: dict[str, Any] = response.json()
                return answer
            error = error_from_body(response.status_code, _json(response), _retry_after(response))
            if response.status_code not in RETRYABLE_STATUSES:
                raise error
        assert error is not None
        raise error

    def _send(self, path: str, body: Mapping[str, Any]) -> requests.Response:
        self.requests_sent += 1
        function = f"/{function_of(path)}" if self._per_function else ""
        return self._session.post(
            self._base + function + path,
            json=body,
            headers={"Authorization": f"Bearer {self._tokens()}"},
            timeout=self._timeout,
        )

    def _pause(self, attempt: int, error: BillingError | None) -> float:
        if error is not None and error.retry_after is not None:
            return error.retry_after
        cap = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
        return random.uniform(cap / 2, cap)  # noqa: S311 - spreading retries, not security


class Hold:
    """A placed hold inside ``BillingClient.hold``: record what was used with ``use``."""

    def __init__(self, hold_id: str, amount: int) -> None:
        self.hold_id = hold_id
        self.amount = amount
        self.used = 0
        self.settlement: dict[str, Any] | None = None

    def use(self, amount: int) -> None:
        if amount <= 0 or self.used + amount > self.amount:
            raise ValueError(f"use {amount}: {self.amount - self.used} of the hold is left")
        self.used += amount


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back on our own backoff
