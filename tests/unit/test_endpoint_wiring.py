"""An endpoint over fakes, wired through Services overrides: Idempotency-Key rules in ms.

The HTTP edge (auth, parsing, the idempotency wrapper) runs as deployed; only the ports are fakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest

from functions.admin import admin_credits_grant
from functions.payments_stripe import stripe_payment_process
from shared import bootstrap
from shared.bootstrap import ServiceParts, Services
from shared.config import Settings
from tests.unit.fakes import (
    NOW,
    MemoryIdempotency,
    MemoryLedger,
    MemoryPayments,
    MemorySlots,
    Stripe,
    TokensAreUids,
)


@pytest.fixture
def ledger() -> Iterator[MemoryLedger]:
    ledger = MemoryLedger()
    parts = ServiceParts(
        ledger=ledger, idempotency=MemoryIdempotency(), token_verifier=TokensAreUids()
    )
    bootstrap.override(Services(Settings(), overrides=parts))
    yield ledger
    bootstrap.override(None)


def grant(
    body: dict[str, Any], key: str | None = None, bearer: str = "admin-ops"
) -> flask.Response:
    headers = {"Authorization": f"Bearer {bearer}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    app = flask.Flask(__name__)
    with app.test_request_context(
        "/v1/admin/credits/grant", method="POST", json=body, headers=headers
    ):
        return admin_credits_grant(flask.request)


BODY = {"user_id": "uid-alice", "amount": 500, "reason": "goodwill"}


def test_a_keyed_grant_is_applied_once_and_its_retry_replays_the_same_answer(
    ledger: MemoryLedger,
) -> None:
    first, again = grant(BODY, "k1"), grant(BODY, "k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert ledger.head("uid-alice").balance == 500


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(
    ledger: MemoryLedger,
) -> None:
    grant(BODY, "k1")
    other = grant({**BODY, "amount": 501}, "k1")
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert ledger.head("uid-alice").balance == 500


def test_a_user_without_the_admin_claim_changes_nothing(ledger: MemoryLedger) -> None:
    refused = grant(BODY, "k1", bearer="uid-mallory")
    assert refused.status_code == 403
    assert ledger.entries == []


def test_bad_input_is_400_naming_the_field_and_changes_nothing(ledger: MemoryLedger) -> None:
    refused = grant({**BODY, "amount": "500"})
    assert refused.status_code == 400
    assert "amount" in refused.get_json()["error"]["details"]["fields"]
    assert ledger.entries == []


def pay(body: dict[str, Any], key: str) -> flask.Response:
    headers = {"Authorization": "Bearer uid-alice", "Idempotency-Key": key}
    app = flask.Flask(__name__)
    with app.test_request_context("/v1/payments", method="POST", json=body, headers=headers):
        return stripe_payment_process(flask.request)


def test_a_replayed_answer_is_the_first_answer_timestamps_included() -> None:
    stripe, payments = Stripe(), MemoryPayments()
    parts = ServiceParts(
        payments=payments,
        payment_gateway=stripe,
        idempotency=MemoryIdempotency(),
        rate_limit_slots=MemorySlots(),
        token_verifier=TokensAreUids(),
    )
    bootstrap.override(Services(Settings(), overrides=parts))
    try:
        body = {"amount": 5_000, "currency": "usd", "payment_method": "pm_card_visa"}
        first, again = pay(body, "k1"), pay(body, "k1")
    finally:
        bootstrap.override(None)
    assert first.get_json()["created_at"] == NOW.isoformat()  # RFC 3339, with a T
    assert again.get_data() == first.get_data()
    assert len(stripe.intents) == 1
