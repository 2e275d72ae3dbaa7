"""Firestore round trips per operation, counted by a gRPC interceptor (issue 7's targets).

Counts are deterministic, so unlike timings they make sound assertions.
"""

from __future__ import annotations

import pytest

from bench.inprocess import invoke, wire_with_client
from bench.rpc import counting_client
from devstack.stack import Stack
from shared.ledger import EntryType, Posting
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
