"""Budgets: credits held for one account, metered here, captured once per period.

``with client.budget(user_id, credits, period, service=...) as budget: budget.charge(id, amount)``

A budget places a hold of ``credits`` for its first period and meters each event against it in
this process: no request per event, and nothing beyond the hold is ever spent (``charge`` raises
``BudgetExceeded``). When the period ends (or it holds ``max_events`` events) the budget places
the next period's hold and captures the ended one in the background, sending its events: the
service records each event id once, in a document of its own, and captures only those never
charged before, releasing the rest of the hold. So an account sees two balance commits per
period however many events it takes, an event id charged in one period is a replay in every
later one (here while the budget remembers it, at the service always), and usage summaries still
count every event. A process that dies leaves its holds to expire: their credits come back, and
that period's events are not charged.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billing_client.errors import InsufficientCredits

if TYPE_CHECKING:
    from types import TracebackType

    from billing_client.client import BillingClient

# The service's bound on one capture's events (MAX_METERED_EVENTS).
MAX_EVENTS_PER_PERIOD = 10_000


class BudgetExceeded(InsufficientCredits):
    """The event would take the period beyond its hold (or no hold could be placed)."""


@dataclass
class Period:
    """One hold of a budget and the events metered against it."""

    hold_id: str
    ends_at: float
    events: list[dict[str, Any]] = field(default_factory=list)
    used: int = 0
    settlement: dict[str, Any] | None = None  # the service's answer once captured or released


class Budget:
    """Credits of one account held period after period, metered locally (see the module doc)."""

    def __init__(
        self,
        client: BillingClient,
        user_id: str,
        credits: int,
        period: float,
        *,
        service: str,
        max_events: int = MAX_EVENTS_PER_PERIOD,
        capture_margin: float = 300.0,
        remember: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(credits, bool) or not isinstance(credits, int) or credits < 1:
            raise ValueError("credits: a positive integer of credit units")
        if period <= 0 or not 1 <= max_events <= MAX_EVENTS_PER_PERIOD:
            raise ValueError(f"period > 0 and 1 <= max_events <= {MAX_EVENTS_PER_PERIOD}")
        self._client = client
        self.user_id, self.service, self.credits, self.period = user_id, service, credits, period
        self._max_events = max_events
        # A hold outlives its period by the time its capture may take; then it expires.
        self._ttl = math.ceil(period + capture_margin)
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Period | None = None
        self._retry_at = 0.0  # when no hold could be placed: the next try
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._remember = remember
        self._captures = ThreadPoolExecutor(max_workers=1, thread_name_prefix="budget-capture")
        self._pending: list[Future[None]] = []
        self.periods: list[Period] = []  # every period, in order (settled ones carry settlement)

    def __enter__(self) -> Budget:
        with self._lock:
            self._open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def charge(self, event_id: str, amount: int) -> bool:
        """Meter one event: True if charged, False if its id was charged before (a replay)."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise ValueError("amount: a positive integer of credit units")
        with self._lock:
            if event_id in self._seen:
                return False
            now = self._clock()
            current = self._current
            if current is not None and (
                now >= current.ends_at or len(current.events) >= self._max_events
            ):
                self._roll()
            elif current is None and now >= self._retry_at:
                self._open()
            current = self._current
            if current is None:
                raise BudgetExceeded("no credits could be held for this period", self._about())
            if current.used + amount > self.credits:
                left = self.credits - current.used
                raise BudgetExceeded(f"{amount} is more than the {left} left this period",
                                     self._about())  # fmt: skip
            current.events.append({"event_id": event_id, "amount": amount})
            current.used += amount
            self._remember_id(event_id)
            return True

    def close(self) -> None:
        """Capture the current period and wait for every capture; raise the first that failed."""
        with self._lock:
            ended, self._current = self._current, None
            if ended is not None:
                self._pending.append(self._captures.submit(self._settle, ended))
        for future in self._pending:
            future.result()
        self._captures.shutdown()

    def _open(self) -> None:
        """Place the next period's hold (the lock is held)."""
        hold_id = f"budget_{uuid.uuid4().hex}"
        try:
            self._client.place_hold(self.user_id, self.service, self.credits, hold_id, self._ttl)
        except InsufficientCredits:
            self._current, self._retry_at = None, self._clock() + self.period
            return
        self._current = Period(hold_id, self._clock() + self.period)
        self.periods.append(self._current)

    def _roll(self) -> None:
        """End the current period: hold the next one, capture this one in the background."""
        ended = self._current
        assert ended is not None
        self._open()
        if self._current is None:
            # The account cannot fund two holds at once: settle this one first, then try again.
            self._settle(ended)
            self._open()
        else:
            self._pending.append(self._captures.submit(self._settle, ended))

    def _settle(self, period: Period) -> None:
        client, hold = self._client, period.hold_id
        if period.events:
            path = f"/api/v1/holds/{hold}/capture"
            period.settlement = client.post(path, {"events": period.events})
        else:
            period.settlement = client.release_hold(hold)

    def _remember_id(self, event_id: str) -> None:
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > self._remember:
            self._seen.discard(self._seen_order.popleft())

    def _about(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "service": self.service, "credits": self.credits}
