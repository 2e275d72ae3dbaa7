"""Deliver Firestore triggers locally, as Eventarc does in production (dev and tests only).

For every ``TriggerFunction`` of the registry, listen (``on_snapshot``) to the collection its
``document`` pattern names on the Firestore emulator, and for every matching change deliver the
production-shaped CloudEvent (binary mode, protobuf ``DocumentEventData``) to the function served
by functions-framework, in process. Documents already there when the relay starts arrive in the
first snapshot and are delivered too (triggers are idempotent). A failed delivery is retried with
backoff; one bad document never stops the relay.

    python -m devstack.trigger_relay --project demo-billing --ready-file .stack/relay.ready
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from functions.registry import TRIGGER_FUNCTIONS, TriggerFunction
from shared.adapters.firestore_events import (
    CREATED,
    DELETED,
    UPDATED,
    WRITTEN,
    cloud_event_headers,
    encode_document_event,
    full_name,
)

log = logging.getLogger("trigger_relay")
ROOT = Path(__file__).resolve().parent.parent

# Which Listen change types each Firestore event type fires on.
CHANGE_TYPES: Mapping[str, frozenset[str]] = {
    CREATED: frozenset({"ADDED"}),
    UPDATED: frozenset({"MODIFIED"}),
    DELETED: frozenset({"REMOVED"}),
    WRITTEN: frozenset({"ADDED", "MODIFIED", "REMOVED"}),
}

# Returns the HTTP status of one delivery of (headers, body) to the named function.
Deliver = Callable[[str, Mapping[str, str], bytes], int]


def listened_collection(trigger: TriggerFunction) -> str:
    """Return the collection a trigger's document pattern watches (``outbox/{id}`` → outbox)."""
    parts = trigger.document.split("/")
    if len(parts) != 2 or not parts[1].startswith("{"):
        raise ValueError(f"{trigger.name}: only top-level collection patterns are relayed")
    return parts[0]


def in_process_delivery(source: Path = ROOT / "main.py") -> Deliver:
    """Serve each trigger with functions-framework's CloudEvent app and post to it in process."""
    import functions_framework

    apps: dict[str, Any] = {}
    lock = threading.Lock()

    def deliver(name: str, headers: Mapping[str, str], body: bytes) -> int:
        with lock:
            if name not in apps:
                apps[name] = functions_framework.create_app(  # type: ignore[no-untyped-call]
                    name, str(source), "cloudevent"
                )
        response = apps[name].test_client().post("/", headers=dict(headers), data=body)
        return int(response.status_code)

    return deliver


class TriggerRelay:
    def __init__(
        self,
        client: Any,
        project: str,
        deliver: Deliver,
        *,
        triggers: tuple[TriggerFunction, ...] = TRIGGER_FUNCTIONS,
        database: str = "(default)",
        max_attempts: int = 8,
        workers: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = client
        self._project = project
        self._database = database
        self._deliver = deliver
        self._triggers = triggers
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relay")
        self._watches: list[Any] = []
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        by_collection: dict[str, list[TriggerFunction]] = defaultdict(list)
        for trigger in self._triggers:
            by_collection[listened_collection(trigger)].append(trigger)
        for collection, triggers in by_collection.items():
            self._watches.append(
                self._db.collection(collection).on_snapshot(self._on_snapshot(tuple(triggers)))
            )
            log.info("listening to %s for %s", collection, [t.name for t in triggers])

    def stop(self) -> None:
        for watch in self._watches:
            watch.unsubscribe()
        self._watches.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _on_snapshot(self, triggers: tuple[TriggerFunction, ...]) -> Callable[..., None]:
        def callback(documents: Any, changes: Any, read_time: Any) -> None:
            for change in changes:
                for trigger in triggers:
                    if change.type.name in CHANGE_TYPES.get(trigger.event_type, frozenset()):
                        self._pool.submit(self._deliver_with_retries, trigger, change)

        return callback

    def _deliver_with_retries(self, trigger: TriggerFunction, change: Any) -> None:
        try:
            headers, body = self._event(trigger, change)
        except Exception:
            log.exception("%s: cannot encode the event; skipped", trigger.name)
            self.failed += 1
            return
        for attempt in range(1, self._max_attempts + 1):
            try:
                status = self._deliver(trigger.name, headers, body)
            except Exception:
                log.exception("%s: delivery raised", trigger.name)
                status = 0
            if 200 <= status < 300:
                self.delivered += 1
                return
            if not trigger.retry:
                break
            log.warning("%s: delivery got %s (attempt %d); retrying", trigger.name, status, attempt)
            self._sleep(min(5.0, 0.2 * 2 ** (attempt - 1)))
        self.failed += 1
        log.error("%s: gave up on event %s", trigger.name, headers["ce-id"])

    def _event(self, trigger: TriggerFunction, change: Any) -> tuple[dict[str, str], bytes]:
        snapshot = change.document
        path = snapshot.reference.path
        name = full_name(self._project, path, self._database)
        stamp = snapshot.update_time or snapshot.create_time
        # The same write gives the same event id however often it is relayed.
        event_id = hashlib.sha256(f"{trigger.name}|{path}|{stamp}".encode()).hexdigest()[:32]
        removed = change.type.name == "REMOVED"
        data = snapshot.to_dict() or {}
        body = encode_document_event(
            name, None if removed else data, old_value=data if removed else None
        )
        headers = cloud_event_headers(
            trigger.event_type,
            self._project,
            path,
            database=self._database,
            event_id=event_id,
            time=stamp,
        )
        return headers, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from google.cloud import firestore

    relay = TriggerRelay(
        firestore.Client(project=args.project), args.project, in_process_delivery()
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    relay.start()
    names = ", ".join(t.name for t in TRIGGER_FUNCTIONS)
    print(f"trigger relay delivering to: {names}", flush=True)
    if args.ready_file:
        args.ready_file.write_text("ready\n")
    stop.wait()
    relay.stop()


if __name__ == "__main__":
    main()
