"""Bad input against every endpoint that takes a JSON body: a 4xx naming the problem, no write.

The endpoints come from the registry and each entry point's ``contract``: a new endpoint with a
body joins the matrix by itself (and fails ``test_every_json_endpoint_has_a_valid_body_here``
until it has a valid body below to mutate). Each case is one change to that valid body, so the
answer must name the changed field, not some other one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import Stack
from functions.http import MAX_BODY_BYTES
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
    "holds_release": {},
    "devices_register": {"token": "fcm-token-abuse", "platform": "android"},
    "reconcile": {"older_than_seconds": 900, "limit": 10},
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
