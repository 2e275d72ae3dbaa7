"""Deliver Firestore triggers locally, as Eventarc does in production (dev and tests only).

For every ``TriggerFunction`` of the registry, watch the collection its ``document`` pattern
names on the Firestore emulator, and for every document created there deliver the
production-shaped CloudEvent (binary mode, protobuf ``DocumentEventData``) to the function served
by functions-framework, in process. Documents already there when the relay starts are delivered
too (triggers are idempotent). A failed delivery is retried with backoff; one bad document never
stops the relay.

Watching is polling, not Listen. Google's emulator answers each write to a listened collection
by resetting the listen and sending again every document the query matches (a filtered query's
too), so every write costs the emulator and the listener the whole result. Measured with
``python -m bench.relay_listen`` (a shared 2-core machine, ledger-entry-sized documents), 20
commits/s into a collection of 2,000: polling delivered in 0.15 s (p99 1.8 s), the emulator
growing 60 MiB; google-cloud-firestore's ``on_snapshot`` took 35-47 s (p99 72-79 s), 190-200 of
the 300 documents still undelivered a minute after the last write, the writers slowed to 10-13/s
and the emulator grown to 3.3-3.8 GB; the bare Listen RPC took 9-10 s (2-2.4 GB). Even at 200
documents ``on_snapshot`` lagged 9-15 s. At the bench's volume (20,000 entries, one account at
1,000 entries/s in commits of 100) polling kept up, 6 s behind (p99 8 s), while Listen held the
writers to 90-130 entries/s and grew the emulator to 3.7-7 GB. So the relay asks each collection,
ten times a second, for the documents whose ``created_at`` (every trigger collection has one) is
at most a few seconds older than the newest seen, and remembers which of those it delivered.

The account document's ``written`` trigger (``user_credits/{uid}``) is relayed from the ledger
instead: polling that document would see only its latest version, merging commits that land
within one poll, whereas each commit's entries stay. Listening would not help: a listener is
owed only a document's latest state (the emulator happened to send all 300 of 300 quick writes),
and a listen on the collection is sent all of it again on every write. Every write of the
document that moves its balance is a ledger commit (a group of new entries of one account stamped
at one instant), and the document before and after it is the head pointer of the entry before the
group and of the group's last entry (``head_to_document``), with the user's settings as stored
now. Settings-only writes, which never move a balance, are not relayed.

    python -m devstack.trigger_relay --project demo-billing --ready-file .stack/relay.ready
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from functions.registry import TRIGGER_FUNCTIONS, TriggerFunction
from shared.adapters.firestore_events import (
    CREATED,
    WRITTEN,
    cloud_event_headers,
    encode_document_event,
    full_name,
)
from shared.adapters.firestore_ledger_codec import (
    TRANSACTIONS,
    USER_CREDITS,
    entry_from_document,
    head_to_document,
)
from shared.ledger.entries import LedgerEntry, entry_id

log = logging.getLogger("trigger_relay")
ROOT = Path(__file__).resolve().parent.parent

POLL_INTERVAL_SECONDS = 0.1
# Writers stamp created_at before they commit: a document may land this much "in the past".
LATE_COMMIT_MARGIN = timedelta(seconds=5)

# Returns the HTTP status of one delivery of (headers, body) to the named function.
Deliver = Callable[[str, Mapping[str, str], bytes], int]


def listened_collection(trigger: TriggerFunction) -> str:
    """Return the collection a trigger's document pattern watches (``outbox/{id}`` → outbox)."""
    parts = trigger.document.split("/")
    if len(parts) != 2 or not parts[1].startswith("{"):
        raise ValueError(f"{trigger.name}: only top-level collection patterns are relayed")
    if trigger.event_type == WRITTEN and parts[0] != USER_CREDITS:
        raise ValueError(f"{trigger.name}: only the account document's writes are relayed")
    return parts[0]


def polled_collection(trigger: TriggerFunction) -> str:
    """Return the collection whose new documents set the trigger off (see the module doc)."""
    return TRANSACTIONS if trigger.event_type == WRITTEN else listened_collection(trigger)


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
        self._watches: list[threading.Thread] = []
        self._stopped = threading.Event()
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        by_collection: dict[str, list[TriggerFunction]] = defaultdict(list)
        for trigger in self._triggers:
            if trigger.event_type not in (CREATED, WRITTEN):
                raise ValueError(f"{trigger.name}: the relay delivers created and written only")
            by_collection[polled_collection(trigger)].append(trigger)
        for collection, triggers in by_collection.items():
            thread = threading.Thread(
                target=self._watch,
                args=(collection, tuple(triggers)),
                daemon=True,
                name=f"relay-{collection}",
            )
            thread.start()
            self._watches.append(thread)
            log.info("watching %s for %s", collection, [t.name for t in triggers])

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._watches:
            thread.join(timeout=5)
        self._watches.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _watch(self, collection: str, triggers: tuple[TriggerFunction, ...]) -> None:
        seen: dict[str, datetime] = {}  # path -> created_at, for the documents in the margin
        newest = datetime(1970, 1, 1, tzinfo=UTC)  # deliver what is already there too
        while not self._stopped.is_set():
            try:
                newest = self._poll_once(collection, triggers, seen, newest)
            except Exception:
                log.exception("polling %s failed; retrying", collection)
            self._stopped.wait(POLL_INTERVAL_SECONDS)

    def _poll_once(
        self,
        collection: str,
        triggers: tuple[TriggerFunction, ...],
        seen: dict[str, datetime],
        newest: datetime,
    ) -> datetime:
        from google.cloud.firestore_v1.base_query import FieldFilter

        since = newest - LATE_COMMIT_MARGIN
        query = self._db.collection(collection).where(filter=FieldFilter("created_at", ">=", since))
        fresh = []
        for snapshot in query.stream(timeout=30):
            created = (snapshot.to_dict() or {}).get("created_at")
            if not isinstance(created, datetime) or snapshot.reference.path in seen:
                continue
            seen[snapshot.reference.path] = created
            newest = max(newest, created)
            fresh.append(snapshot)
            for trigger in triggers:
                if trigger.event_type == CREATED:
                    self._pool.submit(self._deliver_with_retries, trigger, snapshot)
        for commit in ledger_commits(fresh) if collection == TRANSACTIONS else []:
            for trigger in triggers:
                if trigger.event_type == WRITTEN:
                    self._pool.submit(self._deliver_commit_with_retries, trigger, commit)
        for path in [p for p, created in seen.items() if created < since]:
            del seen[path]  # older than any document a later poll can return
        return newest

    def _deliver_with_retries(self, trigger: TriggerFunction, snapshot: Any) -> None:
        try:
            headers, body = self._event(trigger, snapshot)
        except Exception:
            log.exception("%s: cannot encode the event; skipped", trigger.name)
            self.failed += 1
            return
        self._deliver_event(trigger, headers, body)

    def _deliver_commit_with_retries(
        self, trigger: TriggerFunction, commit: list[LedgerEntry]
    ) -> None:
        try:
            headers, body = account_written_event(
                self._db, self._project, trigger, commit, self._database
            )
        except Exception:
            log.exception("%s: cannot build the account's event; skipped", trigger.name)
            self.failed += 1
            return
        self._deliver_event(trigger, headers, body)

    def _deliver_event(
        self, trigger: TriggerFunction, headers: dict[str, str], body: bytes
    ) -> None:
        for attempt in range(1, self._max_attempts + 1):
            if self._stopped.is_set():
                return  # stopping: the next start delivers it again (same event id)
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

    def _event(self, trigger: TriggerFunction, snapshot: Any) -> tuple[dict[str, str], bytes]:
        path = snapshot.reference.path
        name = full_name(self._project, path, self._database)
        stamp = snapshot.update_time or snapshot.create_time
        # The same write gives the same event id however often it is relayed.
        event_id = hashlib.sha256(f"{trigger.name}|{path}|{stamp}".encode()).hexdigest()[:32]
        body = encode_document_event(name, snapshot.to_dict() or {})
        headers = cloud_event_headers(
            trigger.event_type,
            self._project,
            path,
            database=self._database,
            event_id=event_id,
            time=stamp,
        )
        return headers, body


def account_written_event(
    db: Any, project: str, trigger: TriggerFunction, commit: list[LedgerEntry], database: str
) -> tuple[dict[str, str], bytes]:
    """The account document's written event for one ledger commit (see the module doc)."""
    first, last = commit[0], commit[-1]
    path = f"{USER_CREDITS}/{last.user_id}"
    stored = db.collection(USER_CREDITS).document(last.user_id).get(timeout=30)
    settings = {"settings": (stored.to_dict() or {}).get("settings") or {}}
    old = None
    if first.seq > 1:
        previous_id = entry_id(last.user_id, first.seq - 1)
        previous = db.collection(TRANSACTIONS).document(previous_id).get(timeout=30)
        old = head_to_document(entry_from_document(previous.to_dict() or {})) | settings
    new = head_to_document(last) | settings
    body = encode_document_event(full_name(project, path, database), new, old)
    event_id = hashlib.sha256(f"{trigger.name}|{path}|{last.seq}".encode()).hexdigest()[:32]
    headers = cloud_event_headers(
        trigger.event_type, project, path, database=database, event_id=event_id,
        time=last.created_at,
    )  # fmt: skip
    return headers, body


def ledger_commits(snapshots: list[Any]) -> list[list[LedgerEntry]]:
    """Group new ledger entries into commits: one account's entries stamped at one instant."""
    commits: dict[tuple[str, datetime], list[LedgerEntry]] = defaultdict(list)
    for snapshot in snapshots:
        try:
            entry = entry_from_document(snapshot.to_dict() or {})
        except (KeyError, TypeError, ValueError):
            log.exception("%s: not a ledger entry; skipped", snapshot.reference.path)
            continue
        commits[entry.user_id, entry.created_at].append(entry)
    return [sorted(group, key=lambda e: e.seq) for group in commits.values()]


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
    # A delivery in flight may wait minutes on an emulator that is already gone, and Python
    # joins pool threads at exit: leave now. Every event is delivered again at the next start.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
