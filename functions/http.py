"""What every HTTPS function shares: auth, parsing, error mapping and JSON responses.

A handler is ``def name(call: Call) -> Reply``; ``@endpoint`` looks its path, methods and auth up
in the registry, so each fact about an endpoint is written once.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import flask
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from functions.registry import Auth, HttpFunction, http_function
from shared.access.auth import Caller, ServiceCaller
from shared.access.idempotency import (
    KEY_HEADER,
    StoredResponse,
    is_replayable,
    request_fingerprint,
    scoped_key,
    validate_key,
)
from shared.access.rate_limits import enforce_rate_limit
from shared.bootstrap import Services, services
from shared.errors import (
    BillingError,
    InvalidRequest,
    MethodNotAllowed,
    RateLimited,
    Unauthenticated,
    invalid_field,
)
from shared.ids import DOCUMENT_ID_PATTERN, ID_PROBLEM
from shared.log import bind_request, get_logger

log = get_logger("http")
Model = TypeVar("Model", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Webhooks dedupe on the provider's event id instead; health mutates nothing.
IDEMPOTENT_AUTH = frozenset({Auth.USER, Auth.ADMIN, Auth.SERVICE})
SERVERLESS_AUTHORIZATION = "X-Serverless-Authorization"


class ErrorDetail(TypedDict):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(TypedDict):
    """Every error the service answers with."""

    error: ErrorDetail


@dataclass
class Reply:
    body: Mapping[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # A document answered as itself (a PDF) rather than JSON: its bytes and media type.
    content: tuple[bytes, str] | None = None


@dataclass
class Call:
    """One request as a handler sees it."""

    request: flask.Request
    services: Services
    caller: Caller | None
    path_params: dict[str, str]
    # The caller-scoped Idempotency-Key, when the client sent one: stable across the client's
    # retries, so the domain derives its provider idempotency keys and reservations from it.
    request_key: str | None = None

    @property
    def user(self) -> Caller:
        if self.caller is None or isinstance(self.caller, ServiceCaller):
            raise Unauthenticated("a Firebase ID token is required")
        return self.caller

    @property
    def service(self) -> ServiceCaller:
        if not isinstance(self.caller, ServiceCaller):
            raise Unauthenticated("a service identity token is required")
        return self.caller

    def limit_rate(self, action: str) -> None:
        """Count this request against the caller's per-user limit of ``action``, or 429."""
        svc = self.services
        enforce_rate_limit(svc.rate_limit_slots, svc.rate_limit(action), self.user.uid, svc.clock())

    def path_param(
        self, name: str, pattern: str = DOCUMENT_ID_PATTERN, problem: str = ID_PROBLEM
    ) -> str:
        """Return the path's ``{name}`` if it matches ``pattern`` (a document id's by default);
        else a 400 naming it."""
        value = self.path_params.get(name, "")
        if not re.match(pattern, value):
            raise invalid_field(name, problem)
        return value

    def raw_body(self) -> bytes:
        """The raw body (what a webhook signature covers), refused with a 400 unless UTF-8."""
        raw = self.request.get_data(cache=True)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid_field("body", "must be UTF-8 text") from exc
        return raw

    def body(self, model: type[Model], max_bytes: int = MAX_BODY_BYTES) -> Model:
        """Parse the JSON body into ``model`` or raise a 400 naming each bad field."""
        declared = self.request.content_length or 0
        raw = b"" if declared > max_bytes else self.request.get_data(cache=True)
        if declared > max_bytes or len(raw) > max_bytes:
            raise InvalidRequest(
                f"body: larger than {max_bytes} bytes", {"fields": {"body": "too large"}}
            )
        if not self.request.mimetype == "application/json":
            raise InvalidRequest(
                "body: Content-Type must be application/json",
                {"fields": {"content-type": "must be application/json"}},
            )
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise InvalidRequest(
                "body: not valid JSON", {"fields": {"body": "not valid JSON"}}
            ) from exc
        _reject_unstorable(data)
        return _validate(model, data)

    def query(self, model: type[Model]) -> Model:
        """Parse the query string into ``model`` or raise a 400 naming each bad parameter."""
        params = self.request.args.to_dict()
        _reject_unstorable(params)
        return _validate(model, params)


Handler = Callable[[Call], Reply]


Function = Callable[[flask.Request], flask.Response]


@dataclass(frozen=True)
class Contract:
    """What an endpoint reads and answers; the OpenAPI document is built from it.

    ``body`` and ``query`` are the pydantic models the handler validates with; ``response`` is
    the TypedDict its success answer is built as (read by pydantic only in the openapi function,
    so declaring it costs a handler's cold start next to nothing).
    """

    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type | None = None


def endpoint(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type,
) -> Callable[[Handler], Function]:
    """Make the handler an HTTPS Cloud Function, configured from its registry entry."""
    return lambda handler: _endpoint(handler, Contract(body, query, response))


def _endpoint(handler: Handler, contract: Contract) -> Function:
    spec = http_function(handler.__name__)

    @wraps(handler)
    def function(request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        correlation_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        try:
            svc = services()
            bind_request(
                correlation_id,
                request.headers.get("X-Cloud-Trace-Context"),
                svc.settings.firebase_project_id,
            )
            if request.method not in spec.methods:
                raise MethodNotAllowed(
                    f"{request.method} is not allowed here", {"allowed": list(spec.methods)}
                )
            caller = _authenticate(request, svc, spec)
            call = Call(request, svc, caller, _path_params(spec.paths, request.path))
            key = request.headers.get(KEY_HEADER)
            if key is not None and request.method in MUTATING and spec.auth in IDEMPOTENT_AUTH:
                reply = _run_idempotently(handler, call, spec.name, key)
            else:
                reply = _run(handler, call)
        except BillingError as error:
            reply = error_reply(error)
        except Exception:
            log.exception("unhandled error", extra={"function": spec.name, "path": request.path})
            internal: ErrorBody = {
                "error": {"code": "internal", "message": "internal error", "details": {}}
            }
            reply = Reply(internal, 500)
        reply.headers.setdefault("X-Request-Id", correlation_id)
        # Method, path and outcome only: never headers, bodies or query strings (tokens, cards).
        log.info(
            "request",
            extra={
                "function": spec.name,
                "method": request.method,
                "path": request.path,
                "status": reply.status,
                "status_class": f"{reply.status // 100}xx",
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error_code": reply.body.get("error", {}).get("code")
                if reply.status >= 400
                else None,
            },
        )
        return json_response(reply)

    function.contract = contract  # type: ignore[attr-defined]
    return function


def _run(handler: Handler, call: Call) -> Reply:
    try:
        return handler(call)
    except BillingError as error:
        return error_reply(error)


def _run_idempotently(handler: Handler, call: Call, endpoint_name: str, key: str) -> Reply:
    """Run ``handler`` at most once per (caller, endpoint, key); replay its stored answer."""
    store = call.services.idempotency
    caller = call.caller.uid if call.caller else "anonymous"
    scoped = scoped_key(caller, endpoint_name, validate_key(key))
    fingerprint = request_fingerprint(
        call.request.method, call.request.path, call.request.get_data(cache=True)
    )
    stored = store.begin(scoped, fingerprint)
    if stored is not None:
        return Reply(stored.body, stored.status, {"Idempotent-Replayed": "true"})
    try:
        reply = _run(handler, replace(call, request_key=scoped))
    except BaseException:
        store.abandon(scoped)
        raise
    if is_replayable(reply.status):
        # Stored as the client read it, so a replay's timestamps are written the same way.
        store.finish(scoped, StoredResponse(reply.status, json.loads(json_text(reply.body))))
    else:
        store.abandon(scoped)
    return reply


def error_reply(error: BillingError) -> Reply:
    """Map a domain error to the error body of docs/api.md."""
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.details.get("allowed", []))
    body: ErrorBody = {
        "error": {"code": error.code, "message": error.message, "details": error.details}
    }
    return Reply(body, error.status, headers)


def _json_value(value: object) -> str:
    """Timestamps as RFC 3339 with a ``T`` everywhere (docs/api.md); anything else as its text.

    The one place a timestamp is written for a client: wire shapes keep ``datetime`` values.
    """
    return value.isoformat() if isinstance(value, datetime) else str(value)


def json_text(body: Mapping[str, Any]) -> str:
    return json.dumps(body, default=_json_value)


def json_response(reply: Reply) -> flask.Response:
    if reply.content is not None:
        data, mimetype = reply.content
        response = flask.Response(data, reply.status, mimetype=mimetype)
    else:
        response = flask.Response(json_text(reply.body), reply.status, mimetype="application/json")
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response


def _authenticate(request: flask.Request, svc: Services, spec: HttpFunction) -> Caller | None:
    auth = spec.auth
    if auth not in (Auth.USER, Auth.ADMIN, Auth.SERVICE):
        return None
    header = request.headers.get("Authorization", "")
    if auth is Auth.SERVICE and SERVERLESS_AUTHORIZATION in request.headers:
        # Cloud Run's IAM check reads this header instead when present and strips its signature;
        # Authorization then passes untouched, so it must not speak for the caller.
        header = request.headers[SERVERLESS_AUTHORIZATION]
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        kind = "service ID token" if auth is Auth.SERVICE else "Firebase ID token"
        raise Unauthenticated(f"Authorization: Bearer <{kind}> is required")
    if auth is Auth.SERVICE:
        if spec.role is None:
            raise AssertionError(f"{spec.name}: a service endpoint names its role")
        service = svc.service_verifier.verify(token.strip(), behind_iam=spec.behind_iam)
        return svc.service_access.admit(service, spec.role)
    caller = svc.token_verifier.verify(token.strip())
    if auth is Auth.ADMIN:
        caller.require_admin()
    return caller


def _path_params(patterns: tuple[str, ...], path: str) -> dict[str, str]:
    """Read the {params} of whichever registered pattern matches ``path``."""
    parts = path.rstrip("/").split("/")
    for pattern in patterns:
        pattern_parts = pattern.split("/")
        if len(pattern_parts) != len(parts):
            continue
        params = {}
        for want, got in zip(pattern_parts, parts, strict=True):
            if want.startswith("{"):
                params[want.strip("{}")] = got
            elif want != got:
                break
        else:
            return params
    return {}


# Firestore stores signed 64-bit integers; a larger JSON number can only be a mistake or an attack.
INT64 = range(-(2**63), 2**63)
# Control characters (but tab and newlines) and lone surrogates: never meaningful in our fields,
# and a lone surrogate cannot even be encoded for storage.
_UNWANTED_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _reject_unstorable(data: object, path: tuple[str, ...] = ()) -> None:
    """Raise a 400 naming the first value (key or item) that no field of ours may hold."""
    name = ".".join(path) or "body"
    if isinstance(data, dict):
        for key, value in data.items():
            _reject_unstorable(key, (*path, "<key>"))
            _reject_unstorable(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _reject_unstorable(item, (*path, str(index)))
    elif isinstance(data, str) and _UNWANTED_CHARACTERS.search(data):
        raise invalid_field(name, "must not contain control characters or lone surrogates")
    elif isinstance(data, int) and not isinstance(data, bool) and data not in INT64:
        raise invalid_field(name, "must be a signed 64-bit integer")


def _validate(model: type[Model], data: object) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in err["loc"]) or "body": err["msg"] for err in exc.errors()
        }
        # The message says what each field must be too (a pattern, published in it).
        problems = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise InvalidRequest(f"invalid fields: {problems}", {"fields": fields}) from exc
