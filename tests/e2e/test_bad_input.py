"""Bad input against every endpoint that takes a JSON body: a 4xx naming the problem, no write.

The endpoints come from the registry and each entry point's ``contract``: a new endpoint with a
body joins the matrix by itself (and fails ``test_every_json_endpoint_has_a_valid_body_here``
until it has a valid body below to mutate). Each case is one change to that valid body, so the
answer must name the changed field, not some other one.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from functions.http import MAX_BODY_BYTES
from functions.registry import http_function
from shared.ids import DOCUMENT_ID_PATTERN
from tests.conftest import User
from tests.e2e.abuse import Callers, Operation, footprint, json_body_operations, send, table

pytestmark = pytest.mark.stack

UID = "{uid}"  # replaced by the account under test
EVENT = {
    "user_id": UID,
    "service": "ai",
    "amount": 10,
    "event_id": "evt-abuse-1",
    "description": "one call",
    "metadata": {"model": "small"},
}
# A valid body per operation: each case changes exactly one thing in it.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "credits_account_patch": {"low_balance_threshold": 5_000},
    "credits_purchase": {"amount": 20_000, "currency": "inr", "provider": "razorpay"},
    "payments_verify": {
        "razorpay_order_id": "order_abuse",
        "razorpay_payment_id": "pay_abuse",
        "razorpay_signature": "0" * 64,
    },
    "admin_credits_grant": {"user_id": UID, "amount": 100, "reason": "abuse test"},
    "admin_credits_adjust": {"user_id": UID, "amount": 100, "reason": "abuse test"},
    "admin_order_refund": {"amount": 100, "reason": "abuse test"},
    "stripe_payment_process": {
        "amount": 1_000,
        "currency": "sgd",
        "payment_method": "pm_card_visa",
        "description": "ticket",
        "metadata": {"order": "o1"},
        "customer_email": "buyer@example.test",
    },
    "stripe_payment_verify": {"payment_intent_id": "pi_abuse"},
    "stripe_refund_process": {
        "payment_intent_id": "pi_abuse",
        "amount": 100,
        "reason": "requested_by_customer",
        "metadata": {"ticket": "t1"},
    },
    "stripe_refund_verify": {"refund_id": "re_abuse"},
    "usage_record": EVENT,
    "usage_batch": {"events": [EVENT]},
    "holds_place": {
        "user_id": UID,
        "service": "ai",
        "amount": 10,
        "hold_id": "hold_abuse_1",
        "expires_in": 60,
    },
    "holds_capture": {"amount": 5},
    "usage_void": {"service": "ai"},
    "credits_check": {"user_id": UID, "amount": 10},
    "holds_release": {},
    "devices_register": {"token": "fcm-token-abuse", "platform": "android"},
    "reconcile": {"older_than_seconds": 900, "limit": 10},
    "billing_details_put": {
        "name": "Pune Analytics LLP",
        "address": "4 FC Road, Pune",
        "state": "27",
        "gstin": "27AAPFU0939F1ZV",
    },
}
# Values that are valid for one field even though the matrix tries them everywhere.
VALID_EXCEPTIONS = {
    ("admin_credits_adjust", "amount", -1),  # an adjustment is signed
    ("credits_account_patch", "low_balance_threshold", 0),  # 0: never alert
    ("reconcile", "older_than_seconds", 0),  # 0: everything open, at once
}
BAD_INTEGERS: list[tuple[str, object]] = [
    ("huge 10**30", 10**30),
    ("2**63", 2**63),
    ("negative", -1),
    ("zero", 0),
    ("float 1.5", 1.5),
    ("float 100.0", 100.0),
    ("numeric string", "100"),
    ("boolean", True),
]
BAD_STRINGS: list[tuple[str, str]] = [
    ("NUL", "a\x00b"),
    ("escape sequence", "\x1b[2J"),
    ("C1 control", "a\x85b"),
    ("lone surrogate", "\ud800"),
]
OPERATIONS = json_body_operations()


def leaves(
    body: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield from leaves(value, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from leaves(value, (*path, index))
    else:
        yield path, body


def replaced(body: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def filled(body: Any, uid: str) -> Any:
    if isinstance(body, dict):
        return {k: filled(v, uid) for k, v in body.items()}
    if isinstance(body, list):
        return [filled(v, uid) for v in body]
    return uid if body == UID else body


Case = tuple[
    str, str, dict[str, Any]
]  # (description, field expected in details.fields, send kwargs)


def cases(op: Operation, valid: dict[str, Any]) -> Iterator[Case]:
    as_json = {"content_type": "application/json"}
    yield "oversized body", "body", {"raw": b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}', **as_json}
    yield "not JSON", "body", {"raw": b"{not json", **as_json}
    yield "invalid UTF-8", "body", {"raw": b'{"x": "\xff\xfe"}', **as_json}
    yield "text/plain", "content-type", {"body": valid, "content_type": "text/plain"}
    form = "application/x-www-form-urlencoded"
    yield "form", "content-type", {"raw": b"a=1", "content_type": form}
    yield "JSON array", "body", {"body": [valid]}
    yield "JSON string", "body", {"body": "hello"}
    yield "JSON null", "body", {"body": None, "raw": b"null"}
    yield "unknown field", "surprise", {"body": {**valid, "surprise": 1}}
    yield "control char in a key", "<key>", {"body": {**valid, "a\x00": 1}}
    for path, value in leaves(valid):
        name = ".".join(str(p) for p in path)
        if isinstance(value, int) and not isinstance(value, bool):
            for label, bad in BAD_INTEGERS:
                if (op.id, name, bad) not in VALID_EXCEPTIONS:
                    yield f"{name}: {label}", name, {"body": replaced(valid, path, bad)}
        elif isinstance(value, str):
            for label, bad_text in BAD_STRINGS:
                yield f"{name}: {label}", name, {"body": replaced(valid, path, bad_text)}


def test_every_json_endpoint_has_a_valid_body_here() -> None:
    assert {op.id for op in OPERATIONS} == set(VALID_BODIES)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_bad_input_is_a_4xx_naming_the_problem_and_writes_nothing(
    op: Operation,
    gateway: str,
    abuse_callers: Callers,
    stack_firestore: Any,
    gateway_ledger: Any,
) -> None:
    uid = abuse_callers.user.uid
    valid = filled(VALID_BODIES[op.id], uid)
    headers = abuse_callers.headers(op.function)
    before = footprint(stack_firestore, gateway_ledger, uid)
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for label, field, kwargs in cases(op, valid):
        response = send(gateway, op.method, op.path(), headers, **kwargs)
        body = response.json()
        fields = body.get("error", {}).get("details", {}).get("fields", {})
        code = body.get("error", {}).get("code", "-")
        rows.append((op.id, label, str(response.status_code), code, ",".join(fields)))
        if not (400 <= response.status_code < 500 and set(body) == {"error"}):
            wrong.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif field not in fields:
            wrong.append(f"{label}: names {sorted(fields)}, not {field!r}")
    print("\n" + table(rows, ("endpoint", "tried", "status", "code", "fields named")))
    assert not wrong, "\n".join(wrong)
    assert footprint(stack_firestore, gateway_ledger, uid) == before


def test_unicode_text_is_kept_and_ids_must_be_plain(
    gateway: str, abuse_callers: Callers, gateway_ledger: Any
) -> None:
    """Letters and emoji are text like any other; ids and control characters are refused."""
    reason = "Gutschrift für Ärger ✓ 😀 مرحبا"
    uid = abuse_callers.user.uid
    admin = dict(abuse_callers.admin.headers)
    granted = send(gateway, "POST", "/api/v1/admin/credits/grant", admin,
                   {"user_id": uid, "amount": 100, "reason": reason})  # fmt: skip
    assert granted.status_code == 201, granted.text
    assert granted.json()["reason"] == reason
    history = send(gateway, "GET", "/api/v1/transactions", abuse_callers.user.headers)
    assert history.json()["data"][0]["source"]["reason"] == reason

    not_an_id = send(gateway, "POST", "/api/v1/usage", abuse_callers.service,
                     {**EVENT, "user_id": "üser-ünicode"})  # fmt: skip
    assert not_an_id.status_code == 400
    assert "user_id" in not_an_id.json()["error"]["details"]["fields"]
    assert gateway_ledger.head(uid).seq == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/reconcile", {"older_than_seconds": 4 * 10**17}, "older_than_seconds"),
        ("/api/v1/holds", {"user_id": "u1", "service": "ai", "amount": 1, "expires_in": 2**62},
         "expires_in"),
    ],
)  # fmt: skip
def test_durations_no_clock_can_hold_are_400(
    gateway: str, abuse_callers: Callers, path: str, body: dict[str, Any], field: str
) -> None:
    """Found by the service fuzz pass: an age beyond timedelta's range was a 500."""
    scheduled = path == "/api/v1/reconcile"  # the scheduler's endpoint, not a metering one
    headers = abuse_callers.scheduler if scheduled else abuse_callers.service
    response = send(gateway, "POST", path, headers, body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("cursor=a%00b", "cursor"), (f"limit={10**30}", "limit"), ("limit=1.5", "limit")],
)
def test_bad_query_parameters_are_400_naming_them(
    gateway: str, user: User, query: str, field: str
) -> None:
    response = send(gateway, "GET", f"/api/v1/credits/orders?{query}", user.headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


@pytest.fixture
def abuse_callers(stack_env: Stack) -> Callers:
    from tests.e2e.abuse import new_callers

    return new_callers(stack_env)


# --- webhooks: raw bodies and signatures ---------------------------------------------------

NOT_UTF8 = b'{"event": "payment.captured", "id": "evt_\xff\xfe", "payload": {}}'


def webhook_post(stack: Stack, provider: str, body: bytes, signed: bool) -> requests.Response:
    """POST ``body`` as the provider would, with a valid signature over it or a wrong one."""
    if provider == "razorpay":
        secret = stack.razorpay_webhook_secret if signed else "wrong-secret"
        mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        path, headers = "/api/v1/webhooks/razorpay", {"X-Razorpay-Signature": mac}
    else:
        secret = stack.stripe_webhook_secret if signed else "whsec_wrong"
        stamp = int(time.time())
        mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        path, headers = "/api/webhook", {"Stripe-Signature": f"t={stamp},v1={mac}"}
    headers |= {"Content-Type": "application/json", "x-razorpay-event-id": "evt_bad_input_1"}
    return requests.post(f"{stack.gateway_url}{path}", data=body, headers=headers, timeout=30)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("provider", ["razorpay", "stripe"])
def test_webhook_bodies_that_are_not_utf8_are_400(
    stack: Stack, provider: str, signed: bool
) -> None:
    response = webhook_post(stack, provider, NOT_UTF8, signed)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_bad_webhook_signature_is_one_code_on_both_providers(stack: Stack) -> None:
    body = b'{"id": "evt_x", "type": "payment_intent.succeeded", "event": "payment.captured"}'
    answers = {p: webhook_post(stack, p, body, signed=False) for p in ("razorpay", "stripe")}
    assert {p: r.status_code for p, r in answers.items()} == {"razorpay": 400, "stripe": 400}
    errors = {p: r.json()["error"] for p, r in answers.items()}
    assert errors["razorpay"]["code"] == errors["stripe"]["code"] == "invalid_request"
    assert "X-Razorpay-Signature" in errors["razorpay"]["details"]["fields"]
    assert "Stripe-Signature" in errors["stripe"]["details"]["fields"]


# --- ids that become Firestore document ids ------------------------------------------------

# What production Firestore refuses as a document id (the emulator stores some of them).
NOT_DOCUMENT_IDS = [
    ("slash", "a/b"),
    ("dot", "."),
    ("dot-dot", ".."),
    ("reserved", "__x__"),
    ("over 1500 bytes", "x" * 1501),
]
ID_CASE_CALLERS = {
    "user": "payments_status",
    "service": "usage_record",
    "admin": "admin_credits_grant",
}
ID_CASES: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    # (auth, method, path with {id}, body with {id}, field named)
    ("user", "GET", "/api/v1/payments/status?order_id={id}", None, "order_id"),
    ("service", "POST", "/api/v1/holds/{id}/capture", {}, "hold_id"),
    ("service", "POST", "/api/v1/holds/{id}/release", {}, "hold_id"),
    ("service", "POST", "/api/v1/usage", {**EVENT, "user_id": "{id}"}, "user_id"),
    ("service", "POST", "/api/v1/usage", {**EVENT, "event_id": "{id}"}, "event_id"),
    ("service", "POST", "/api/v1/usage/batch", {"events": [{**EVENT, "user_id": "{id}"}]},
     "events.0.user_id"),
    ("service", "POST", "/api/v1/holds", {**VALID_BODIES["holds_place"], "user_id": "{id}"},
     "user_id"),
    ("service", "POST", "/api/v1/holds", {**VALID_BODIES["holds_place"], "hold_id": "{id}"},
     "hold_id"),
    ("admin", "POST", "/api/v1/admin/credits/grant",
     {"user_id": "{id}", "amount": 100, "reason": "r"}, "user_id"),
]  # fmt: skip


def test_ids_firestore_cannot_hold_are_400_naming_the_field(
    gateway: str, abuse_callers: Callers
) -> None:
    """Every id that names a document matches the one published pattern, or is a 400."""
    from urllib.parse import quote

    wrong: list[str] = []
    rows: list[tuple[str, ...]] = []
    for auth, method, path, body, field in ID_CASES:
        # each kind's rightful caller (the service rows are all metering endpoints)
        headers = abuse_callers.headers(http_function(ID_CASE_CALLERS[auth]))
        for label, bad in NOT_DOCUMENT_IDS:
            if "{id}/" in path and bad in ("a/b", ".", ".."):
                continue  # URL syntax, not an id: such a segment never reaches a function
            url = path.replace("{id}", quote(bad, safe="") if "?" in path else bad)
            sent = None if body is None else filled(body, abuse_callers.user.uid)
            sent = None if sent is None else json.loads(json.dumps(sent).replace("{id}", bad))
            response = send(gateway, method, url, headers, sent)
            error = response.json().get("error", {})
            rows.append((method, path, label, str(response.status_code), error.get("code", "-")))
            named = error.get("details", {}).get("fields", {})
            if response.status_code != 400 or field not in named:
                wrong.append(f"{path} {label}: {response.status_code} {response.text[:150]}")
            elif DOCUMENT_ID_PATTERN not in error["message"]:
                wrong.append(f"{path} {label}: the message does not publish the pattern")
    print("\n" + table(rows, ("method", "path", "id", "status", "code")))
    assert not wrong, "\n".join(wrong)


def test_a_razorpay_event_id_firestore_cannot_hold_is_400(stack: Stack) -> None:
    body = b'{"event": "payment.authorized", "payload": {}}'
    mac = hmac.new(stack.razorpay_webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Razorpay-Signature": mac}
    for _, bad in NOT_DOCUMENT_IDS:
        response = requests.post(
            f"{stack.gateway_url}/api/v1/webhooks/razorpay",
            data=body,
            headers={**headers, "x-razorpay-event-id": bad},
            timeout=30,
        )
        assert response.status_code == 400, (bad, response.text)
        assert "x-razorpay-event-id" in response.json()["error"]["details"]["fields"]


def test_metadata_that_names_a_document_is_an_id_or_a_400(
    stack: Stack, gateway: str, user: User
) -> None:
    """A client's card payment cannot carry a credit order id Firestore cannot hold."""
    body = {**VALID_BODIES["stripe_payment_process"], "metadata": {"credit_order_id": "a/b"}}
    response = send(gateway, "POST", "/api/payment/process", user.headers, body)
    assert response.status_code == 400, response.text
    assert "metadata.credit_order_id" in response.json()["error"]["details"]["fields"]

    # And a signed event that names one anyway (made elsewhere) is no credit order: not a 500.
    event = {
        "id": "evt_bad_metadata_1", "object": "event", "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_bad_metadata_1", "object": "payment_intent",
                            "amount": 1000, "currency": "sgd", "status": "succeeded",
                            "metadata": {"credit_order_id": "a/b"}}},
    }  # fmt: skip
    raw = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(
        stack.stripe_webhook_secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256
    ).hexdigest()
    hook = requests.post(
        f"{gateway}/api/webhook",
        data=raw,
        headers={"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert hook.status_code == 200, hook.text


def test_an_unknown_payment_method_is_the_clients_400_not_a_502(gateway: str, user: User) -> None:
    body = {**VALID_BODIES["stripe_payment_process"], "payment_method": "pm_no_such_method_123"}
    response = send(gateway, "POST", "/api/payment/process", user.headers, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "payment_method" in error["details"]["fields"]


def test_history_cursors_and_times_firestore_cannot_hold_are_400(
    gateway: str, abuse_callers: Callers
) -> None:
    """A cursor like '²' or beyond int64, or a time outside years 1-9999 in UTC, was a 500."""
    headers = abuse_callers.user.headers
    cases = [
        ("/api/v1/transactions?cursor=%C2%B2", "cursor"),
        ("/api/v1/transactions?cursor=99999999999999999999", "cursor"),
        ("/api/v1/transactions?from=0001-01-01T00:00:00%2B14:00", "from"),
        ("/api/v1/transactions/usage?to=9999-12-31T23:59:59-14:00", "to"),
    ]
    for path, field in cases:
        answer = requests.get(f"{gateway}{path}", headers=headers, timeout=10)
        assert answer.status_code == 400, (path, answer.text)
        assert field in answer.json()["error"]["details"]["fields"], (path, answer.text)
