"""A stand-in for seed 004's event service: prints each notification, checks its signature.

``make dev`` starts it and points EVENT_SERVICE_URL at it; watch ``.stack/event-receiver.log``.
It acts on each event id once (a redelivery is answered 200 and reported as a duplicate), and
``--fail-first N`` answers 503 to the first N requests, to watch retries and parking.
``POST /_receiver/refuse`` ``{"event_id": ...}`` makes it answer 503 to that event from then on
(an event service that keeps failing one notification, on cue: tests park it so).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.payments.outbox import EVENT_ID_HEADER, SIGNATURE_HEADER, verify


class EventReceiver:
    """The receiver's state: what arrived, what was acted on, how many requests to fail."""

    def __init__(self, secret: str, fail_first: int = 0, echo: Callable[[str], None] = print):
        self.secret = secret
        self.fail_first = fail_first
        self.echo = echo
        self.requests = 0
        self.rejected = 0
        self.acted_on: dict[str, dict[str, Any]] = {}
        self.refused: set[str] = set()  # event ids answered 503, on cue
        self._lock = threading.Lock()

    def refuse(self, event_id: str) -> None:
        with self._lock:
            self.refused.add(event_id)

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                self.echo(f"[receiver] failing request {self.requests} on purpose (503)")
                return 503
            if headers.get(EVENT_ID_HEADER) in self.refused:
                self.echo(f"[receiver] refusing {headers.get(EVENT_ID_HEADER)} on cue (503)")
                return 503
            if not verify(body, headers.get(SIGNATURE_HEADER), self.secret, int(time.time())):
                self.rejected += 1
                self.echo("[receiver] REJECTED: bad or missing signature")
                return 400
            event = json.loads(body)
            event_id = str(event.get("id") or headers.get(EVENT_ID_HEADER))
            if event_id in self.acted_on:
                self.echo(f"[receiver] duplicate {event_id} (already acted on)")
                return 200
            self.acted_on[event_id] = event
            self.echo(f"[receiver] {event.get('type')} {event_id} {json.dumps(event.get('data'))}")
            return 200


def serve(receiver: EventReceiver, port: int) -> ThreadingHTTPServer:
    """Return a server for ``receiver`` on 127.0.0.1:``port`` (0: any free port), not started."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/_receiver/refuse":
                receiver.refuse(str(json.loads(body)["event_id"]))
                status = 200
            else:
                status = receiver.receive(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the receiver prints its own lines

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--secret", default=os.environ.get("EVENT_SERVICE_SECRET", ""))
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    receiver = EventReceiver(args.secret, args.fail_first, echo=lambda s: print(s, flush=True))
    server = serve(receiver, args.port)
    print(f"event receiver listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
