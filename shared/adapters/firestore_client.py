"""The Firestore client and the one style of every Firestore store.

The client is built once per instance, on first use, never at import time.
Every store inherits ``FirestoreStore``, which gives it:
- the client, and ``rpc_options(timeout)`` for each call: the timeout then bounds the call *with*
  its retries (the client's default retries keep trying an unreachable database for minutes,
  measured here: about five for one document read, so a request would hang instead of 503);
- ``unavailable_on_outage`` around every public method, so an outage is our 503 everywhere;
- a clock.
Queries filter with ``field_filter``; a create (or commit) that lost to a concurrent writer
raises one of ``race_lost()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from inspect import isfunction
from typing import TYPE_CHECKING, Any

from shared.errors import Unavailable

if TYPE_CHECKING:
    from google.cloud import firestore

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


def race_lost() -> tuple[type[Exception], ...]:
    """What a guarded create or commit raises when a concurrent writer got there first.

    Production answers AlreadyExists (create) or FailedPrecondition/Aborted (commit); the
    emulator may answer Conflict. A function, not a constant: importing this module stays cheap.
    """
    from google.api_core import exceptions

    return (
        exceptions.AlreadyExists,
        exceptions.Conflict,
        exceptions.FailedPrecondition,
        exceptions.Aborted,
    )


def field_filter(field: str, op: str, value: object) -> Any:
    """A query filter (``query.where(filter=field_filter("user_id", "==", uid))``)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, op, value)


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
    """Base of every Firestore store: the client, per-call options with a timeout, a clock.

    Every public method a subclass defines answers an outage with our 503.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if isfunction(member) and not name.startswith("_"):
                setattr(cls, name, _mapped(member))

    def __init__(
        self,
        client: firestore.Client,
        timeout_seconds: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = client
        self._rpc = rpc_options(timeout_seconds)
        self._clock = clock
