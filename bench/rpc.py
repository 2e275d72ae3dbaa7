"""Count Firestore RPCs and the documents they touch: a gRPC client interceptor.

Document counts follow Firestore's billing units: a read per document a BatchGetDocuments
returns (found, or missing: counted too, an upper bound) and per document a RunQuery returns (at
least one per query, the minimum charge); one per aggregation query (one per 1,000 index entries
in production: our aggregations stay far below); a write per set/update/create of a Commit that
succeeded, a delete per delete. A Commit that failed (a lost create race) writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc

WRITE_METHODS = frozenset(
    {"Commit", "BatchWrite", "Write", "UpdateDocument", "DeleteDocument", "CreateDocument"}
)


class RpcCounter(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Counts every RPC made through the channel it intercepts, by method name, and documents."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        # Documents by (method, unit): ("BatchGetDocuments", "read"), ("Commit", "write"), ...
        self.documents: Counter[tuple[str, str]] = Counter()
        self.created: list[str] = []  # full names of documents created by successful commits
        # Writes per document by successful commits: production sustains ~1/s on one document.
        self.written: Counter[str] = Counter()

    def _count(self, details: Any) -> str:
        method = str(details.method).rsplit("/", 1)[-1]
        self.calls[method] += 1
        return method

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        method = self._count(details)
        outcome = continuation(details, request)
        if method == "Commit" and outcome.exception() is None:
            self._count_commit(request)
        return outcome

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        method = self._count(details)
        return _CountedStream(continuation(details, request), method, self)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        self._count(details)
        return continuation(details, requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        self._count(details)
        return continuation(details, requests)

    def _count_commit(self, request: Any) -> None:
        for write in request.writes:
            if write.delete:
                self.documents["Commit", "delete"] += 1
                continue
            self.documents["Commit", "write"] += 1
            self.written[str(write.update.name)] += 1
            precondition = write.current_document
            if "exists" in precondition and not precondition.exists:
                self.created.append(str(write.update.name))

    def _count_response(self, method: str, response: Any) -> int:
        """Count the documents one streamed response carries; return how many."""
        if method == "BatchGetDocuments":
            self.documents[method, "read" if response.found else "read (missing)"] += 1
            return 1
        if method == "RunQuery" and response.document:
            self.documents[method, "read"] += 1
            return 1
        if method == "RunAggregationQuery" and response.result:
            self.documents[method, "read"] += 1
            return 1
        return 0

    def _count_stream_end(self, method: str, documents: int) -> None:
        if method == "RunQuery" and documents == 0:
            self.documents[method, "read (empty query)"] += 1  # the per-query minimum charge

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.calls.items() if method in WRITE_METHODS)

    @property
    def document_reads(self) -> int:
        return sum(n for (_, unit), n in self.documents.items() if unit.startswith("read"))

    @property
    def document_writes(self) -> int:
        return self.documents["Commit", "write"]

    @property
    def document_deletes(self) -> int:
        return self.documents["Commit", "delete"]

    @contextmanager
    def measuring(self) -> Iterator[RpcCounter]:
        """Count only what happens inside the block."""
        self.calls.clear()
        self.documents.clear()
        self.created.clear()
        self.written.clear()
        yield self

    @property
    def hottest_document_writes(self) -> int:
        """Writes to the most written single document (0 when nothing was written)."""
        return max(self.written.values(), default=0)


class _CountedStream:
    """A server-streaming call whose responses are counted as they are read."""

    def __init__(self, call: Any, method: str, counter: RpcCounter) -> None:
        self._call = call
        self._method = method
        self._counter = counter
        self._documents = 0
        self._ended = False

    def __iter__(self) -> _CountedStream:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._call)
        except StopIteration:
            if not self._ended:
                self._ended = True
                self._counter._count_stream_end(self._method, self._documents)
            raise
        self._documents += self._counter._count_response(self._method, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


def counting_client(project: str) -> tuple[Any, RpcCounter]:
    """Return an emulator Firestore client whose RPCs are counted."""
    from google.cloud import firestore

    counter = RpcCounter()
    client = firestore.Client(project=project)
    plain_channel: Callable[[Any], Any] = client._emulator_channel

    def counted_channel(transport: Any) -> Any:
        return grpc.intercept_channel(plain_channel(transport), counter)

    client._emulator_channel = counted_channel  # type: ignore[method-assign]
    return client, counter
