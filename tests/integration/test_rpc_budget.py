"""Firestore round trips per operation, counted by a gRPC interceptor (issue 7's targets).

Counts are deterministic, so unlike timings they make sound assertions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bench.inprocess import invoke, wire_with_client
from bench.rpc import counting_client
from devstack.stack import Stack
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.ledger.effects import IdClaim, IdClaimed
from shared.ledger.entries import EntryType, Posting
from tests.conftest import User

pytestmark = pytest.mark.stack


@pytest.fixture
def counted(stack_env: Stack):
    client, counter = counting_client(stack_env.project)
    services = wire_with_client(client)
    return services, counter


def test_balance_read_is_one_round_trip(counted, user: User) -> None:
    # The head pointer and the user's settings (their own threshold) in one batch get.
    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 500)])
    with counter.measuring():
        response = invoke(
            "credits_balance", "GET", path="/api/v1/credits/balance", headers=user.headers
        )
    assert response.status_code == 200
    assert response.get_json()["balance"] == 500
    assert dict(counter.calls) == {"BatchGetDocuments": 1}, counter.calls


def test_account_read_with_lifetime_totals_is_one_round_trip(counted, user: User) -> None:
    # The totals ride on the head pointer: no aggregation over the ledger.
    services, counter = counted
    services.ledger.append(
        user.uid, [Posting(EntryType.PURCHASE, 500), Posting(EntryType.BONUS, 50)]
    )
    services.ledger.append(user.uid, [Posting(EntryType.USAGE, -20)])
    with counter.measuring():
        response = invoke(
            "credits_account", "GET", path="/api/v1/credits/account", headers=user.headers
        )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["balance"], body["total_purchased"], body["total_bonus"], body["total_used"]) == (
        530,
        500,
        50,
        20,
    )
    assert dict(counter.calls) == {"BatchGetDocuments": 1}, counter.calls


def test_uncontended_deduction_is_two_round_trips(counted, user: User) -> None:
    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 500)])
    with counter.measuring():
        services.ledger.append(
            user.uid, [Posting(EntryType.USAGE, -10)], effect_key=f"u:{user.uid}:1"
        )
    assert counter.total == 2, counter.calls
    assert counter.writes == 1
    with counter.measuring():
        replay = services.ledger.append(
            user.uid, [Posting(EntryType.USAGE, -10)], effect_key=f"u:{user.uid}:1"
        )
    assert replay.replayed
    assert (counter.total, counter.writes) == (1, 0), counter.calls


def test_usage_deduction_through_its_handler_is_two_round_trips_and_a_repeat_one(
    counted, user: User, service_headers: dict[str, str]
) -> None:
    # Read (head, effect record and the event id's claim together); one commit carries the
    # claim's create and the entry's create.
    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 500)])
    body = {"user_id": user.uid, "service": "bench", "amount": 10, "event_id": "e-1"}
    with counter.measuring():
        response = invoke("usage_record", "POST", path="/api/v1/usage",
                          headers=service_headers, json=body)  # fmt: skip
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (counter.total, counter.writes) == (2, 1), counter.calls
    with counter.measuring():
        replay = invoke("usage_record", "POST", path="/api/v1/usage",
                        headers=service_headers, json=body)  # fmt: skip
    assert replay.get_json()["replayed"] is True
    assert (counter.total, counter.writes) == (1, 0), counter.calls


def test_a_batch_of_100_usage_events_for_one_account_is_two_round_trips(
    counted, user: User, service_headers: dict[str, str]
) -> None:
    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 10_000)])
    events = [{"user_id": user.uid, "service": "bench", "amount": 1, "event_id": f"b-{n}"}
              for n in range(100)]  # fmt: skip
    with counter.measuring():
        response = invoke("usage_batch", "POST", path="/api/v1/usage/batch",
                          headers=service_headers, json={"events": events})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["charged"] == 100
    # One read, one commit creating the 100 claims and the 100 entries.
    assert (counter.total, counter.writes) == (2, 1), counter.calls
    assert services.ledger.head(user.uid).balance == 9_900
    with counter.measuring():
        replay = invoke("usage_batch", "POST", path="/api/v1/usage/batch",
                        headers=service_headers, json={"events": events})  # fmt: skip
    assert all(item["replayed"] for item in replay.get_json()["data"])
    assert (counter.total, counter.writes) == (1, 0), counter.calls


def racing(ledger: FirestoreLedger, rival: Callable[[], object]) -> FirestoreLedger:
    """Make ``ledger``'s next commit lose: ``rival`` commits between its read and its commit."""
    commit = ledger._commit

    def lose_once(*args: Any, **kwargs: Any) -> None:
        ledger._commit = commit  # type: ignore[method-assign]
        rival()
        commit(*args, **kwargs)

    ledger._commit = lose_once  # type: ignore[method-assign]
    return ledger


def test_a_lost_race_reads_once_then_commits(counted, stack_env: Stack, user: User) -> None:
    from google.cloud import firestore

    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 500)])
    rival = FirestoreLedger(firestore.Client(project=stack_env.project))
    ledger = racing(FirestoreLedger(services.ledger._db), lambda: rival.append(
        user.uid, [Posting(EntryType.USAGE, -5)], effect_key=f"u:{user.uid}:rival"))  # fmt: skip
    claim = IdClaim(f"usage:{user.uid}:mine", user.uid, 10, "bench")
    with counter.measuring():
        result = ledger.append(
            user.uid, [Posting(EntryType.USAGE, -10)], f"u:{user.uid}:mine", claim=claim
        )
    # Read, commit (lost: the rival took seq 2), read once, commit.
    assert dict(counter.calls) == {"BatchGetDocuments": 2, "Commit": 2}, counter.calls
    assert (result.head.seq, result.head.balance) == (3, 485)
    assert ledger.conflicts == 1


def test_a_claim_taken_meanwhile_by_another_account_refuses_after_one_read(
    counted, stack_env: Stack, user: User
) -> None:
    # The claim's create is the commit's first write: on the emulator, which applies a commit's
    # writes one by one, it stops the commit before the entry, as production's atomic one does.
    from google.cloud import firestore

    services, counter = counted
    services.ledger.append(user.uid, [Posting(EntryType.GRANT, 500)])
    other = f"{user.uid}-other"
    services.ledger.append(other, [Posting(EntryType.GRANT, 500)])
    rival = FirestoreLedger(firestore.Client(project=stack_env.project))
    key = f"usage:shared:{user.uid}"
    ledger = racing(FirestoreLedger(services.ledger._db), lambda: rival.append(
        other, [Posting(EntryType.USAGE, -10)], f"u:{other}:e",
        claim=IdClaim(key, other, 10, "bench")))  # fmt: skip
    with counter.measuring(), pytest.raises(IdClaimed):
        ledger.append(user.uid, [Posting(EntryType.USAGE, -10)], f"u:{user.uid}:e",
                      claim=IdClaim(key, user.uid, 10, "bench"))  # fmt: skip
    assert dict(counter.calls) == {"BatchGetDocuments": 2, "Commit": 1}, counter.calls
    assert [e.seq for e in ledger.entries(user.uid)] == [1]  # nothing of the charge written
    assert services.ledger.head(user.uid).balance == 500
    assert services.ledger.head(other).balance == 490


def test_a_replayed_webhook_is_one_read_and_no_write(counted, stack_env: Stack) -> None:
    import hashlib
    import hmac
    import json
    import uuid

    _, counter = counted
    body = json.dumps({"entity": "event", "event": "payment.authorized", "contains": ["payment"],
                       "payload": {"payment": {"entity": {"id": f"pay_{uuid.uuid4().hex[:14]}",
                       "order_id": "order_unknown", "amount": 100, "currency": "INR",
                       "status": "authorized"}}}}).encode()  # fmt: skip
    signature = hmac.new(stack_env.razorpay_webhook_secret.encode(), body, hashlib.sha256)
    headers = {"X-Razorpay-Signature": signature.hexdigest(), "Content-Type": "application/json",
               "x-razorpay-event-id": f"evt_{uuid.uuid4().hex[:14]}"}  # fmt: skip

    def deliver() -> int:
        response = invoke("webhooks_razorpay", "POST", path="/api/v1/webhooks/razorpay",
                          headers=headers, data=body)  # fmt: skip
        return response.status_code

    assert deliver() == 200
    with counter.measuring():
        assert deliver() == 200
    assert (counter.total, counter.writes) == (1, 0), counter.calls
