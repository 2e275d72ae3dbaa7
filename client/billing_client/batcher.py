"""``UsageBatcher``: charge usage events in batches per account, without losing or doubling one.

Events wait in a bounded queue, grouped by account. An account's events are sent when it has
``max_events`` waiting or its oldest has waited ``max_delay`` seconds; events of several ready
accounts share a request (at most ``max_events`` in all; the service commits each account's
events together). An account has at most one request in flight, so its events stay in order and
never race each other for the account's next ledger entry. Each event keeps its own
``event_id`` through every retry, so nothing is charged twice.

Back-pressure, never a silent drop: when ``max_queued`` events wait, ``submit`` blocks (up to its
``timeout``) and then raises ``QueueFull``; the caller still holds the event. Every accepted
event's future ends with its ``Charge`` or its typed error.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType

from billing_client.client import BillingClient, Charge, UsageEvent
from billing_client.errors import BillingError, QueueFull

MAX_BATCH = 100  # the service's limit per request


@dataclass
class _Account:
    first_at: float
    events: list[tuple[UsageEvent, Future[Charge]]] = field(default_factory=list)


class UsageBatcher:
    def __init__(
        self,
        client: BillingClient,
        *,
        max_events: int = MAX_BATCH,
        max_delay: float = 0.05,
        max_queued: int = 10_000,
        max_in_flight: int = 8,
    ) -> None:
        if not 1 <= max_events <= MAX_BATCH:
            raise ValueError(f"max_events: between 1 and {MAX_BATCH}")
        self._client = client
        self._max_events = max_events
        self._max_delay = max_delay
        self._max_queued = max_queued
        self._max_in_flight = max_in_flight
        self._changed = threading.Condition()
        self._waiting: dict[str, _Account] = {}  # insertion order: oldest account first
        self._queued = 0  # accepted and not yet answered (waiting or in flight)
        self._busy: set[str] = set()  # accounts with a request in flight
        self._in_flight = 0
        self._flushing = 0  # callers of flush() waiting: send everything now
        self._closed = False
        self.requests = 0  # batch requests sent (benchmarks read it)
        self._dispatcher = threading.Thread(
            target=self._dispatch, daemon=True, name="usage-batcher"
        )
        self._dispatcher.start()

    def submit(self, event: UsageEvent, timeout: float | None = None) -> Future[Charge]:
        """Queue ``event``; block while the queue is full; ``QueueFull`` after ``timeout`` s."""
        future: Future[Charge] = Future()
        with self._changed:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            if not self._changed.wait_for(lambda: self._queued < self._max_queued, timeout):
                raise QueueFull(
                    f"{self._queued} events are waiting; event {event.event_id} was not taken",
                    {"event_id": event.event_id},
                )
            account = self._waiting.setdefault(event.user_id, _Account(time.monotonic()))
            account.events.append((event, future))
            self._queued += 1
            self._changed.notify_all()
        return future

    def flush(self) -> None:
        """Send every queued event now and wait until each has its answer."""
        with self._changed:
            self._flushing += 1
            self._changed.notify_all()
            try:
                self._changed.wait_for(lambda: self._queued == 0)
            finally:
                self._flushing -= 1

    def close(self) -> None:
        """Flush, then stop the dispatcher. Submitting afterwards raises."""
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._dispatcher.join()

    def __enter__(self) -> UsageBatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- dispatching ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        with self._changed:
            while not (self._closed and self._queued == 0):
                batch = self._take_ready() if self._in_flight < self._max_in_flight else None
                if batch:
                    self._in_flight += 1
                    threading.Thread(target=self._send, args=(batch,), daemon=True).start()
                    continue
                self._changed.wait(self._until_next_deadline())

    def _take_ready(self) -> list[tuple[UsageEvent, Future[Charge]]]:
        """Take the events of ready, idle accounts for one request (lock held).

        Ready accounts are spread over the free request slots: the service commits a request's
        accounts one after another, so parallel requests keep many accounts moving at once.
        """
        now = time.monotonic()
        ready = [
            user_id
            for user_id, account in self._waiting.items()
            if user_id not in self._busy
            and (
                len(account.events) >= self._max_events
                or now - account.first_at >= self._max_delay
                or self._flushing
                or self._closed
            )
        ]
        free_slots = max(1, self._max_in_flight - self._in_flight)
        per_request = -(-len(ready) // free_slots)  # ceiling division
        batch: list[tuple[UsageEvent, Future[Charge]]] = []
        for user_id in ready[:per_request]:
            room = self._max_events - len(batch)
            if room <= 0:
                break
            account = self._waiting[user_id]
            taken, rest = account.events[:room], account.events[room:]
            batch.extend(taken)
            self._busy.add(user_id)
            if rest:
                self._waiting[user_id] = _Account(account.first_at, rest)
            else:
                del self._waiting[user_id]
        return batch

    def _until_next_deadline(self) -> float | None:
        idle = [a.first_at for u, a in self._waiting.items() if u not in self._busy]
        if not idle or self._in_flight >= self._max_in_flight:
            return None  # a finishing request or a new event wakes us
        return max(0.0, min(idle) + self._max_delay - time.monotonic())

    def _send(self, batch: list[tuple[UsageEvent, Future[Charge]]]) -> None:
        results: list[Charge | BillingError] | BillingError
        try:
            self.requests += 1
            results = self._client.charge_batch([event for event, _ in batch])
        except BillingError as error:  # the whole request failed after the client's retries
            results = error
        except Exception as error:  # never leave a future unanswered
            results = BillingError(f"batch request failed: {error!r}")
        for index, (_, future) in enumerate(batch):
            result = results if isinstance(results, BillingError) else results[index]
            if isinstance(result, BillingError):
                future.set_exception(result)
            else:
                future.set_result(result)
        with self._changed:
            self._in_flight -= 1
            self._queued -= len(batch)
            self._busy.difference_update(event.user_id for event, _ in batch)
            self._changed.notify_all()
