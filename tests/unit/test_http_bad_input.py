"""Bad input against every endpoint that takes a JSON body: a 4xx naming the problem, no write.

In process, through the real ``@endpoint`` wrapper on fakes (tests/unit/edge.py): parsing and
validation are the HTTP edge's, so no stack is needed to prove them (tests/e2e keeps what needs
one: Stripe's answer about an unknown PaymentMethod, a signed event naming no document).

The endpoints come from the registry and each entry point's ``contract``: a new endpoint with a
body joins the matrix by itself (and fails ``test_every_json_endpoint_has_a_valid_body_here``
until it has a valid body below to mutate). Each case is one change to that valid body, so the
answer must name the changed field, not some other one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.holds import MAX_CAPTURE_BODY_BYTES
from functions.http import MAX_BODY_BYTES
from functions.registry import http_function
from shared.ids import DOCUMENT_ID_PATTERN
from tests.unit.edge import Answer, Edge, razorpay_webhook_headers, stripe_webhook_headers
from tests.unit.operations import Callers, Operation, footprint, json_body_operations, table

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
    # A capture may carry a budget period's events: its bound is larger.
    limit = MAX_CAPTURE_BODY_BYTES if op.id == "holds_capture" else MAX_BODY_BYTES
    yield "oversized body", "body", {"raw": b'{"pad": "' + b"x" * limit + b'"}', **as_json}
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
    op: Operation, edge: Edge
) -> None:
    callers = Callers()
    uid = callers.uid
    valid = filled(VALID_BODIES[op.id], uid)
    headers = callers.headers(op.function)
    before = footprint(edge, uid)
    rows: list[tuple[str, ...]] = []
    wrong: list[str] = []
    for label, field, kwargs in cases(op, valid):
        response = edge.request(op.method, op.path(), headers, **kwargs)
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
    assert footprint(edge, uid) == before


def test_unicode_text_is_kept_and_ids_must_be_plain(edge: Edge) -> None:
    """Letters and emoji are text like any other; ids and control characters are refused."""
    reason = "Gutschrift für Ärger ✓ 😀 مرحبا"
    callers = Callers()
    uid = callers.uid
    granted = edge.post("/api/v1/admin/credits/grant", callers.admin,
                        {"user_id": uid, "amount": 100, "reason": reason})  # fmt: skip
    assert granted.status_code == 201, granted.text
    assert granted.json()["reason"] == reason
    history = edge.get("/api/v1/transactions", callers.user)
    assert history.json()["data"][0]["source"]["reason"] == reason

    not_an_id = edge.post("/api/v1/usage", callers.service, {**EVENT, "user_id": "üser-ünicode"})
    assert not_an_id.status_code == 400
    assert "user_id" in not_an_id.json()["error"]["details"]["fields"]
    assert edge.ledger.head(uid).seq == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/reconcile", {"older_than_seconds": 4 * 10**17}, "older_than_seconds"),
        ("/api/v1/holds", {"user_id": "u1", "service": "ai", "amount": 1, "expires_in": 2**62},
         "expires_in"),
    ],
)  # fmt: skip
def test_durations_no_clock_can_hold_are_400(
    edge: Edge, path: str, body: dict[str, Any], field: str
) -> None:
    """Found by the service fuzz pass: an age beyond timedelta's range was a 500."""
    scheduled = path == "/api/v1/reconcile"  # the scheduler's endpoint, not a metering one
    headers = Callers().scheduler if scheduled else Callers().service
    response = edge.post(path, headers, body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("cursor=a%00b", "cursor"), (f"limit={10**30}", "limit"), ("limit=1.5", "limit")],
)
def test_bad_query_parameters_are_400_naming_them(edge: Edge, query: str, field: str) -> None:
    response = edge.get(f"/api/v1/credits/orders?{query}", Callers().user)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["details"]["fields"]


# --- webhooks: raw bodies and signatures ---------------------------------------------------

NOT_UTF8 = b'{"event": "payment.captured", "id": "evt_\xff\xfe", "payload": {}}'


def webhook_post(edge: Edge, provider: str, body: bytes, signed: bool) -> Answer:
    """POST ``body`` as the provider would, with a valid signature over it or a wrong one."""
    if provider == "razorpay":
        path, headers = "/api/v1/webhooks/razorpay", razorpay_webhook_headers(body, signed=signed)
    else:
        path, headers = "/api/webhook", stripe_webhook_headers(body, signed=signed)
    headers |= {"x-razorpay-event-id": "evt_bad_input_1"}
    return edge.request("POST", path, headers, raw=body)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("provider", ["razorpay", "stripe"])
def test_webhook_bodies_that_are_not_utf8_are_400(edge: Edge, provider: str, signed: bool) -> None:
    response = webhook_post(edge, provider, NOT_UTF8, signed)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_bad_webhook_signature_is_one_code_on_both_providers(edge: Edge) -> None:
    body = b'{"id": "evt_x", "type": "payment_intent.succeeded", "event": "payment.captured"}'
    answers = {p: webhook_post(edge, p, body, signed=False) for p in ("razorpay", "stripe")}
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


def test_ids_firestore_cannot_hold_are_400_naming_the_field(edge: Edge) -> None:
    """Every id that names a document matches the one published pattern, or is a 400."""
    from urllib.parse import quote

    callers = Callers()
    wrong: list[str] = []
    rows: list[tuple[str, ...]] = []
    for auth, method, path, body, field in ID_CASES:
        # each kind's rightful caller (the service rows are all metering endpoints)
        headers = callers.headers(http_function(ID_CASE_CALLERS[auth]))
        for label, bad in NOT_DOCUMENT_IDS:
            if "{id}/" in path and bad in ("a/b", ".", ".."):
                continue  # URL syntax, not an id: such a segment never reaches a function
            url = path.replace("{id}", quote(bad, safe="") if "?" in path else bad)
            sent = None if body is None else filled(body, callers.uid)
            sent = None if sent is None else json.loads(json.dumps(sent).replace("{id}", bad))
            response = edge.request(method, url, headers, sent)
            error = response.json().get("error", {})
            rows.append((method, path, label, str(response.status_code), error.get("code", "-")))
            named = error.get("details", {}).get("fields", {})
            if response.status_code != 400 or field not in named:
                wrong.append(f"{path} {label}: {response.status_code} {response.text[:150]}")
            elif DOCUMENT_ID_PATTERN not in error["message"]:
                wrong.append(f"{path} {label}: the message does not publish the pattern")
    print("\n" + table(rows, ("method", "path", "id", "status", "code")))
    assert not wrong, "\n".join(wrong)


def test_a_razorpay_event_id_firestore_cannot_hold_is_400(edge: Edge) -> None:
    body = b'{"event": "payment.authorized", "payload": {}}'
    headers = razorpay_webhook_headers(body)
    for _, bad in NOT_DOCUMENT_IDS:
        response = edge.request(
            "POST", "/api/v1/webhooks/razorpay", {**headers, "x-razorpay-event-id": bad}, raw=body
        )
        assert response.status_code == 400, (bad, response.text)
        assert "x-razorpay-event-id" in response.json()["error"]["details"]["fields"]


def test_metadata_that_names_a_document_is_an_id_or_a_400(edge: Edge) -> None:
    """A client's card payment cannot carry a credit order id Firestore cannot hold."""
    body = {**VALID_BODIES["stripe_payment_process"], "metadata": {"credit_order_id": "a/b"}}
    response = edge.post("/api/payment/process", Callers().user, body)
    assert response.status_code == 400, response.text
    assert "metadata.credit_order_id" in response.json()["error"]["details"]["fields"]
    assert edge.stripe.intents == {}
