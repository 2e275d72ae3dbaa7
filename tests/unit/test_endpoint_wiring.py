"""An endpoint over fakes, wired through Services overrides: Idempotency-Key rules in ms.

The HTTP edge (routing, auth, parsing, the idempotency wrapper) runs as deployed; only the ports
are fakes (the shared ``edge`` fixture, tests/unit/edge.py).
"""

from __future__ import annotations

from typing import Any

from tests.unit.edge import Answer, Edge, admin, user
from tests.unit.fakes import NOW

BODY = {"user_id": "uid-alice", "amount": 500, "reason": "goodwill"}


def grant(
    edge: Edge, body: dict[str, Any], key: str | None = None, bearer: dict[str, str] | None = None
) -> Answer:
    headers = dict(bearer or admin())
    if key is not None:
        headers["Idempotency-Key"] = key
    return edge.post("/api/v1/admin/credits/grant", headers, body)


def test_a_keyed_grant_is_applied_once_and_its_retry_replays_the_same_answer(edge: Edge) -> None:
    first, again = grant(edge, BODY, "k1"), grant(edge, BODY, "k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert edge.ledger.head("uid-alice").balance == 500


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(edge: Edge) -> None:
    grant(edge, BODY, "k1")
    other = grant(edge, {**BODY, "amount": 501}, "k1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert edge.ledger.head("uid-alice").balance == 500


def test_a_user_without_the_admin_claim_changes_nothing(edge: Edge) -> None:
    refused = grant(edge, BODY, "k1", bearer=user("mallory"))
    assert refused.status_code == 403
    assert edge.ledger.entries == []


def test_bad_input_is_400_naming_the_field_and_changes_nothing(edge: Edge) -> None:
    refused = grant(edge, {**BODY, "amount": "500"})
    assert refused.status_code == 400
    assert "amount" in refused.json()["error"]["details"]["fields"]
    assert edge.ledger.entries == []


def test_a_replayed_answer_is_the_first_answer_timestamps_included(edge: Edge) -> None:
    body = {"amount": 5_000, "currency": "usd", "payment_method": "pm_card_visa"}
    headers = {**user(), "Idempotency-Key": "k1"}
    first = edge.post("/api/payment/process", headers, body)
    again = edge.post("/api/payment/process", headers, body)
    assert first.json()["created_at"] == NOW.isoformat()  # RFC 3339, with a T
    assert again.response.get_data() == first.response.get_data()
    assert len(edge.stripe.intents) == 1
