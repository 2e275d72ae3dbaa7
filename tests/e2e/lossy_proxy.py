"""A proxy in front of localstripe that, on cue, lets a call happen and loses its answer.

It stands for the network between us and Stripe failing after Stripe acted: the request is
forwarded and applied, then the proxy holds the connection past the client's timeout and closes
it without a word. Everything not on cue passes through unchanged.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

# Headers the proxy sets itself (the body is re-sent whole and decoded).
HOP_BY_HOP = ("content-length", "content-encoding", "transfer-encoding", "connection")


class LossyProxy:
    def __init__(self, upstream: str, hold_seconds: float) -> None:
        self.upstream = upstream
        self.hold_seconds = hold_seconds
        self._lose: re.Pattern[str] | None = None
        self._forward_lost = True
        self.lost: list[str] = []  # "METHOD path" of every answer lost, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def lose_answers_to(self, pattern: str | None, forward: bool = True) -> None:
        """Lose the answer of every POST whose path matches ``pattern`` (None: lose nothing).

        With ``forward=False`` the request itself is lost too: Stripe never sees it.
        """
        with self._lock:
            self._lose = re.compile(pattern) if pattern else None
            self._forward_lost = forward

    def _loses(self, method: str, path: str) -> tuple[bool, bool]:
        """Whether to lose this call's answer, and whether to forward it all the same."""
        with self._lock:
            lose = method == "POST" and self._lose is not None and bool(self._lose.search(path))
            return lose, self._forward_lost or not lose

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                lose, forward = proxy._loses(self.command, self.path)
                answer = None
                if forward:
                    answer = requests.request(
                        self.command,
                        f"{proxy.upstream}{self.path}",
                        data=body,
                        headers=headers,
                        timeout=30,
                    )
                if lose or answer is None:
                    proxy.lost.append(f"{self.command} {self.path}")
                    time.sleep(proxy.hold_seconds)  # past the caller's timeout
                    self.close_connection = True
                    return  # no answer at all
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Forward
