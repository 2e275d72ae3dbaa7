"""The service client (client/billing_client) against the local stack, as a metering service."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from billing_client import (
    BillingClient,
    InsufficientCredits,
    QueueFull,
    Unauthenticated,
    UsageBatcher,
    UsageEvent,
)

from devstack.stack import METERING_SERVICE_EMAIL, Stack
from shared.ledger.entries import EntryType, Posting
from shared.ledger.invariants import invariant_violations

pytestmark = pytest.mark.stack


@pytest.fixture
def tokens(stack: Stack, service_tokens: Any) -> Callable[[], str]:
    """The local issuer's tokens for the metering account, as GoogleIdentity would give."""
    return lambda: str(service_tokens.mint(METERING_SERVICE_EMAIL, stack.service_audience))


@pytest.fixture
def client(stack: Stack, tokens: Callable[[], str]) -> BillingClient:
    return BillingClient(stack.gateway_url, tokens)


def funded(ledger: Any, amount: int) -> str:
    user_id = f"cli-{uuid.uuid4().hex[:12]}"
    ledger.append(user_id, [Posting(EntryType.GRANT, amount)])
    return user_id


def test_a_charge_retried_with_its_event_id_is_charged_once(client, gateway_ledger) -> None:
    user_id = funded(gateway_ledger, 100)
    event = UsageEvent(user_id, "chat", 30)
    first, again = client.charge(event), client.charge(event)
    assert (first.balance_after, first.replayed) == (70, False)
    assert (again.transaction_id, again.replayed) == (first.transaction_id, True)
    assert gateway_ledger.head(user_id).balance == 70


def test_a_check_then_a_charge_then_its_void(client, gateway_ledger) -> None:
    user_id = funded(gateway_ledger, 100)
    assert client.check(user_id, 100) and not client.check(user_id, 101)
    event = UsageEvent(user_id, "chat", 60)
    client.charge(event)
    assert not client.check(user_id, 50)
    voided = client.void(event.event_id, "chat")
    assert (voided["amount"], voided["balance_after"]) == (60, 100)
    assert client.void(event.event_id, "chat")["replayed"] is True
    assert gateway_ledger.head(user_id).balance == 100


def test_short_credits_and_bad_tokens_raise_typed_errors(
    stack: Stack, client, gateway_ledger
) -> None:
    user_id = funded(gateway_ledger, 10)
    with pytest.raises(InsufficientCredits):
        client.charge(UsageEvent(user_id, "chat", 11))
    with pytest.raises(Unauthenticated):
        BillingClient(stack.gateway_url, lambda: "not-a-token").charge(
            UsageEvent(user_id, "chat", 1)
        )
    assert gateway_ledger.head(user_id).balance == 10


def test_batched_events_over_several_accounts_are_each_charged_once(client, gateway_ledger) -> None:
    accounts = [funded(gateway_ledger, 1_000) for _ in range(3)]
    events = [UsageEvent(accounts[n % 3], "ai", 1 + n % 2) for n in range(240)]
    with UsageBatcher(client, max_events=50, max_delay=0.02) as batcher:
        charges = [f.result(timeout=60) for f in [batcher.submit(e) for e in events]]
    assert [c.event_id for c in charges] == [e.event_id for e in events]
    assert not any(c.replayed for c in charges)
    assert batcher.requests < len(events) / 10  # batches, not a call per event
    for user_id in accounts:
        spent = sum(e.amount for e in events if e.user_id == user_id)
        entries = gateway_ledger.entries(user_id)
        assert entries[-1].balance_after == 1_000 - spent
        assert invariant_violations(entries) == []
    # The same events again (a service's retry after a crash): all replays, nothing charged.
    with UsageBatcher(client, max_delay=0.01) as batcher:
        again = [f.result(timeout=60) for f in [batcher.submit(e) for e in events[:100]]]
    assert all(c.replayed for c in again)
    assert sum(gateway_ledger.head(a).balance for a in accounts) == 3_000 - sum(
        e.amount for e in events
    )


def test_a_full_queue_pushes_back_and_drops_nothing(stack: Stack, tokens, gateway_ledger) -> None:
    user_id = funded(gateway_ledger, 100)
    stalled = threading.Event()

    def slow_tokens() -> str:
        stalled.wait(30)  # the service is slow: nothing leaves the queue until released
        return str(tokens())

    batcher = UsageBatcher(
        BillingClient(stack.gateway_url, slow_tokens), max_events=2, max_delay=0.0, max_queued=4
    )
    accepted = [batcher.submit(UsageEvent(user_id, "chat", 1)) for _ in range(4)]
    refused = UsageEvent(user_id, "chat", 1)
    with pytest.raises(QueueFull) as full:
        batcher.submit(refused, timeout=0.2)
    assert full.value.details == {"event_id": refused.event_id}
    stalled.set()
    batcher.close()
    assert [f.result(timeout=30).replayed for f in accepted] == [False] * 4
    assert gateway_ledger.head(user_id).balance == 96  # the four taken, not the refused one


def test_a_hold_captures_what_the_block_used_and_releases_on_error(client, gateway_ledger) -> None:
    user_id = funded(gateway_ledger, 100)
    with client.hold(user_id, "ai", 60) as hold:
        assert gateway_ledger.head(user_id).available == 40
        hold.use(15)
        hold.use(10)
    assert hold.settlement is not None and hold.settlement["captured"] == 25
    head = gateway_ledger.head(user_id)
    assert (head.balance, head.held) == (75, 0)

    with pytest.raises(RuntimeError), client.hold(user_id, "ai", 50) as failing:
        failing.use(20)
        raise RuntimeError("the work failed")
    head = gateway_ledger.head(user_id)
    assert (head.balance, head.held) == (75, 0)  # released, nothing captured


def test_a_budget_charges_each_event_once_across_periods_and_summaries_count_them(
    client, gateway_ledger, user, gateway: str
) -> None:
    gateway_ledger.append(user.uid, [Posting(EntryType.GRANT, 1_000)])
    clock = [0.0]
    with client.budget(user.uid, 100, 60, service="chat", clock=lambda: clock[0]) as budget:
        assert all(budget.charge(f"b-{n}", 5) for n in range(4))  # 20, metered here
        assert gateway_ledger.head(user.uid).held == 100
        clock[0] = 60.0  # the period ends: the next hold, and this one captured
        assert budget.charge("b-4", 7)
        assert not budget.charge("b-1", 5)  # charged in the first period: a replay
    head = gateway_ledger.head(user.uid)
    assert (head.balance, head.held) == (1_000 - 27, 0)
    assert [(p.settlement or {})["events_charged"] for p in budget.periods] == [4, 1]
    # Another budget (say, after a restart) sending an id charged before: captured once only.
    with client.budget(user.uid, 100, 60, service="chat") as again:
        again.charge("b-0", 5)
        again.charge("b-5", 3)
    assert gateway_ledger.head(user.uid).balance == 1_000 - 30
    summary = requests.get(f"{gateway}/api/v1/transactions/usage", headers=user.headers,
                           params={"group_by": "service"}, timeout=30).json()  # fmt: skip
    assert [(g["key"], g["amount"], g["count"]) for g in summary["data"]] == [("chat", 30, 6)]
    assert invariant_violations(gateway_ledger.entries(user.uid)) == []


class RateLimitedOnce(requests.Session):
    """The real gateway behind a first answer of 429 with Retry-After (a limit we cannot hit)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_429 = False

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if not self.answered_429:
            self.answered_429 = True
            response = requests.Response()
            response.status_code = 429
            response.headers["Retry-After"] = "2"
            response._content = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
            return response
        return super().post(url, *args, **kwargs)


def test_a_429_is_retried_after_the_retry_after_it_names(
    stack: Stack, tokens, gateway_ledger
) -> None:
    user_id = funded(gateway_ledger, 100)
    pauses: list[float] = []
    client = BillingClient(
        stack.gateway_url, tokens, session=RateLimitedOnce(), sleep=pauses.append
    )
    charge = client.charge(UsageEvent(user_id, "chat", 5))
    assert (charge.balance_after, pauses, client.requests_sent) == (95, [2.0], 2)
