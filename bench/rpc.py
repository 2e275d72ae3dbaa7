"""Count Firestore RPCs: a gRPC client interceptor on the emulator channel of a client."""

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
    """Counts every RPC made through the channel it intercepts, by method name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def _count(self, details: Any) -> None:
        self.calls[str(details.method).rsplit("/", 1)[-1]] += 1

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        self._count(details)
        return continuation(details, request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        self._count(details)
        return continuation(details, request)

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

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.calls.items() if method in WRITE_METHODS)

    @contextmanager
    def measuring(self) -> Iterator[RpcCounter]:
        """Count only what happens inside the block."""
        self.calls.clear()
        yield self


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
