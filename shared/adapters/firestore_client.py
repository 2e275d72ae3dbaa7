"""Build the Firestore client: once per instance, on first use, never at import time.

Every adapter call passes ``rpc_options(timeout)``: the timeout then bounds the call *with* its
retries. The client's default retries keep trying an unreachable database for minutes (measured
here: about five for one document read), so a request would hang instead of answering 503.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from shared.errors import Unavailable

if TYPE_CHECKING:
    from google.cloud import firestore

AdapterClass = TypeVar("AdapterClass", bound=type)

# Short first pauses: a blip is over in milliseconds; an outage is over in far more than a request.
RETRY_INITIAL_SECONDS = 0.05
RETRY_MAX_SECONDS = 1.0


def build_firestore_client(project: str, database: str) -> firestore.Client:
    """Return a client for ``project``; FIRESTORE_EMULATOR_HOST, when set, points it locally."""
    from google.cloud import firestore

    return firestore.Client(project=project, database=database)


def rpc_options(timeout_seconds: float) -> dict[str, Any]:
    """Keyword options of one Firestore call: retried on transient errors within the timeout."""
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.ServiceUnavailable, exceptions.InternalServerError, exceptions.ResourceExhausted
    )
    bounded = retry.Retry(
        predicate=transient,
        initial=RETRY_INITIAL_SECONDS,
        maximum=RETRY_MAX_SECONDS,
        multiplier=2.0,
        timeout=timeout_seconds,
    )
    return {"retry": bounded, "timeout": timeout_seconds}


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Turn 'Firestore did not answer' (refused, timed out, retries spent) into our 503."""
    from google.api_core import exceptions

    try:
        yield
    except (
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.RetryError,
    ) as exc:
        raise Unavailable("the database is unavailable; retry the request") from exc


def outages_unavailable(cls: AdapterClass) -> AdapterClass:
    """Class decorator: every public method of a Firestore adapter answers an outage with 503."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _mapped(member))
    return cls


def _mapped(method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with unavailable_on_outage():
            return method(*args, **kwargs)

    return call


def ping(client: firestore.Client, timeout_seconds: float) -> None:
    """Make one cheap read so that readiness reflects whether Firestore answers now."""
    client.collection("_health").document("ping").get(timeout=timeout_seconds, retry=None)


class FirestoreStore:
    """Base of the Firestore adapters: the client, per-call options with a timeout, a clock."""

    def __init__(
        self,
        client: firestore.Client,
        timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = client
        self._rpc = rpc_options(timeout_seconds)
        self._clock = clock
