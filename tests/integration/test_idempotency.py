"""Idempotency-Key through the endpoint layer, with records in the Firestore emulator."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import pytest

from functions import http, registry
from functions.http import Call, Reply, endpoint
from functions.registry import Auth, HttpFunction
from shared.access.auth import Caller, TokenVerifier
from shared.access.idempotency import StoredResponse
from shared.adapters.firestore_idempotency import FirestoreIdempotencyStore
from shared.bootstrap import ServiceParts, Services
from shared.config import Settings
from shared.errors import Conflict, IdempotencyKeyReused, InsufficientCredits, Unauthenticated

pytestmark = pytest.mark.stack


class TokensAreUids(TokenVerifier):
    def verify(self, token: str) -> Caller:
        if not token.startswith("uid-"):
            raise Unauthenticated("bad token")
        return Caller(uid=token)


@pytest.fixture
def services(firestore_client: Any, monkeypatch: pytest.MonkeyPatch) -> Services:
    svc = Services(
        Settings.from_environment(),
        overrides=ServiceParts(
            firestore=firestore_client,
            idempotency=FirestoreIdempotencyStore(firestore_client),
            token_verifier=TokensAreUids(),
        ),
    )
    monkeypatch.setattr(http, "services", lambda: svc)
    return svc


def make_endpoint(
    monkeypatch: pytest.MonkeyPatch, body: Callable[[Call], Reply]
) -> Callable[[flask.Request], flask.Response]:
    spec = HttpFunction("charge_for_test", "tests", "/test/charge", ("POST",), Auth.USER, "test")
    monkeypatch.setattr(registry, "HTTP_FUNCTIONS", (spec,))
    monkeypatch.setattr(http, "http_function", registry.http_function)

    def charge_for_test(call: Call) -> Reply:
        return body(call)

    return endpoint(response=dict)(charge_for_test)


def post(
    function: Callable[[flask.Request], flask.Response],
    json: dict[str, Any],
    key: str | None,
    uid: str = "uid-alice",
) -> flask.Response:
    headers = {"Authorization": f"Bearer {uid}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    app = flask.Flask(__name__)
    with app.test_request_context("/test/charge", method="POST", json=json, headers=headers):
        return function(flask.request)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, call: Call) -> Reply:
        self.calls += 1
        return Reply({"charge": self.calls, "at": datetime.now(UTC)}, 201)


def test_same_key_same_body_replays_the_first_response(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = Counter()
    charge = make_endpoint(monkeypatch, counter)
    first = post(charge, {"amount": 10}, "key-1")
    again = post(charge, {"amount": 10}, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counter.calls == 1


def test_same_key_different_body_is_422(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    charge = make_endpoint(monkeypatch, Counter())
    post(charge, {"amount": 10}, "key-2")
    reused = post(charge, {"amount": 11}, "key-2")
    assert reused.status_code == 422
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_caller(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counter()
    charge = make_endpoint(monkeypatch, counter)
    alice = post(charge, {"amount": 10}, "shared-key", uid="uid-alice")
    bob = post(charge, {"amount": 10}, "shared-key", uid="uid-bob")
    assert counter.calls == 2
    assert alice.get_json()["charge"] == 1
    assert bob.get_json()["charge"] == 2


def test_while_the_first_runs_the_same_key_is_a_retryable_409(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(call: Call) -> Reply:
        started.set()
        release.wait(10)
        return Reply({"ok": True}, 201)

    charge = make_endpoint(monkeypatch, slow)
    responses: list[flask.Response] = []
    first = threading.Thread(target=lambda: responses.append(post(charge, {"a": 1}, "key-3")))
    first.start()
    assert started.wait(10)
    concurrent = post(charge, {"a": 1}, "key-3")
    release.set()
    first.join(10)
    assert concurrent.status_code == 409
    assert concurrent.get_json()["error"]["code"] == "conflict"
    # Clients (the web SDK) retry this 409 and no other: the same request may well succeed.
    assert concurrent.get_json()["error"]["details"] == {"retryable": True}
    assert responses[0].status_code == 201
    assert post(charge, {"a": 1}, "key-3").status_code == 201  # and then it replays


def test_client_errors_replay_but_server_errors_do_not(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[Exception | Reply] = [
        InsufficientCredits("not enough credits"),
        RuntimeError("boom"),
        Reply({"ok": True}, 201),
    ]

    def scripted(call: Call) -> Reply:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    charge = make_endpoint(monkeypatch, scripted)
    assert post(charge, {"a": 1}, "key-4").status_code == 402
    assert post(charge, {"a": 1}, "key-4").status_code == 402  # replayed, not re-run
    assert post(charge, {"a": 2}, "key-5").status_code == 500
    assert post(charge, {"a": 2}, "key-5").status_code == 201  # the 500 was not stored
    assert outcomes == []


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_malformed_keys_are_400(
    services: Services, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    counter = Counter()
    charge = make_endpoint(monkeypatch, counter)
    response = post(charge, {"a": 1}, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["details"]["fields"]
    assert counter.calls == 0


def test_a_dead_requests_key_can_be_taken_over(firestore_client: Any) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    store = FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0])
    assert store.begin("k", "f") is None
    with pytest.raises(Conflict):
        store.begin("k", "f")
    with pytest.raises(IdempotencyKeyReused):
        store.begin("k", "other")
    now[0] += timedelta(minutes=5)
    assert store.begin("k", "f") is None


def test_a_dead_requests_key_is_taken_over_by_exactly_one_of_many_retries(
    firestore_client: Any,
) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    store = FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0])
    assert store.begin("dead", "f") is None  # then its instance crashed: the key stays running
    now[0] += timedelta(minutes=5)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def retry() -> None:
        barrier.wait(10)
        try:
            outcomes.append("runs" if store.begin("dead", "f") is None else "replayed")
        except Conflict:
            outcomes.append("409")

    retries = [threading.Thread(target=retry) for _ in range(8)]
    for thread in retries:
        thread.start()
    for thread in retries:
        thread.join(20)
    assert sorted(outcomes) == ["409"] * 7 + ["runs"]
    with pytest.raises(Conflict):  # the one that took over is running now
        store.begin("dead", "f")


def test_a_slow_first_attempt_that_fails_late_never_frees_the_key_its_retry_holds(
    firestore_client: Any,
) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    first, second, third = (  # three instances of the function
        FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0]) for _ in range(3)
    )
    assert first.begin("slow", "f") is None
    now[0] += timedelta(minutes=5)  # the first looks dead...
    assert second.begin("slow", "f") is None  # ...so a retry takes over
    first.abandon("slow")  # the first was only slow: it fails (5xx) after all
    with pytest.raises(Conflict):  # the retry still runs: no third attempt beside it
        third.begin("slow", "f")
    second.abandon("slow")  # the retry fails too: the next request runs at once
    assert third.begin("slow", "f") is None
    third.abandon("slow")
    assert first.begin("slow", "f") is None  # and again: a key is never stuck


class Records(logging.Handler):
    """Keep the records one logger writes (the service's logs do not propagate to caplog)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def idempotency_log() -> Iterator[Records]:
    records, logger = Records(), logging.getLogger("billing.idempotency")
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)


def test_a_late_finish_never_overwrites_the_answer_of_the_retry_that_took_the_key_over(
    firestore_client: Any, idempotency_log: Records
) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    first, second, third = (
        FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0]) for _ in range(3)
    )
    assert first.begin("late", "f") is None
    now[0] += timedelta(minutes=5)  # the first looks dead...
    assert second.begin("late", "f") is None  # ...so a retry takes over
    second.finish("late", StoredResponse(201, {"charge": "second"}))
    first.finish("late", StoredResponse(201, {"charge": "first"}))  # it was only slow
    assert third.begin("late", "f") == StoredResponse(201, {"charge": "second"})
    assert idempotency_log.messages == ["late idempotent answer refused"]


def test_a_late_finish_while_the_retry_runs_stores_nothing(
    firestore_client: Any, idempotency_log: Records
) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    first, second, third = (
        FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0]) for _ in range(3)
    )
    assert first.begin("late-run", "f") is None
    now[0] += timedelta(minutes=5)
    assert second.begin("late-run", "f") is None
    first.finish("late-run", StoredResponse(201, {"charge": "first"}))
    with pytest.raises(Conflict):  # the retry still runs: nothing to replay yet
        third.begin("late-run", "f")
    second.finish("late-run", StoredResponse(201, {"charge": "second"}))
    assert third.begin("late-run", "f") == StoredResponse(201, {"charge": "second"})
    assert idempotency_log.messages == ["late idempotent answer refused"]


class Meanwhile:
    """A client that lets something else happen just before its next commit is built."""

    def __init__(self, client: Any, meanwhile: Callable[[], None]) -> None:
        self._client, self._meanwhile = client, meanwhile

    def collection(self, name: str) -> Any:
        return self._client.collection(name)

    def batch(self) -> Any:
        meanwhile, self._meanwhile = self._meanwhile, lambda: None
        meanwhile()
        return self._client.batch()


def test_a_retry_cannot_take_over_a_key_whose_slow_attempt_finished_meanwhile(
    firestore_client: Any,
) -> None:
    now = [datetime(2026, 11, 21, tzinfo=UTC)]
    first = FirestoreIdempotencyStore(firestore_client, clock=lambda: now[0])
    assert first.begin("close", "f") is None
    now[0] += timedelta(minutes=5)
    # The retry reads the record while it still looks dead; the first answers before the
    # retry commits its takeover.
    late = Meanwhile(
        firestore_client, lambda: first.finish("close", StoredResponse(201, {"charge": "first"}))
    )
    second = FirestoreIdempotencyStore(late, clock=lambda: now[0])
    with pytest.raises(Conflict):
        second.begin("close", "f")
    assert second.begin("close", "f") == StoredResponse(201, {"charge": "first"})
