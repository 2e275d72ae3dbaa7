"""The service client's budget on a fake service: metered here, two calls a period."""

from __future__ import annotations

from typing import Any

import pytest
from billing_client import Budget, BudgetExceeded, InsufficientCredits


class FakeService:
    """Holds as the service keeps them, over a fake account of ``funds`` credit units."""

    def __init__(self, funds: int) -> None:
        self.available = funds
        self.held: dict[str, int] = {}
        self.captured: dict[str, list[dict[str, Any]]] = {}
        self.charged: set[str] = set()
        self.calls: list[str] = []

    def place_hold(self, user_id: str, service: str, amount: int, hold_id: str, ttl: int) -> Any:
        self.calls.append("place")
        if amount > self.available:
            raise InsufficientCredits("short")
        self.available -= amount
        self.held[hold_id] = amount
        return {"hold_id": hold_id}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("capture")
        hold_id = path.split("/")[-2]
        new = [e for e in body["events"] if e["event_id"] not in self.charged]
        self.charged |= {e["event_id"] for e in new}
        self.captured[hold_id] = new
        self.available += self.held.pop(hold_id) - sum(e["amount"] for e in new)
        return {"hold_id": hold_id, "events_charged": len(new)}

    def release_hold(self, hold_id: str) -> dict[str, Any]:
        self.calls.append("release")
        self.available += self.held.pop(hold_id)
        return {"hold_id": hold_id}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def budget(service: FakeService, clock: Clock, credits: int = 100, **kw: Any) -> Budget:
    return Budget(service, "u1", credits, 10.0, service="chat", clock=clock, **kw)  # type: ignore[arg-type]


def test_events_are_metered_locally_and_refused_beyond_the_hold() -> None:
    service, clock = FakeService(1_000), Clock()
    with budget(service, clock) as b:
        assert all(b.charge(f"e{n}", 10) for n in range(10))
        with pytest.raises(BudgetExceeded):
            b.charge("e-over", 1)
        assert service.calls == ["place"]  # no call per event
    assert service.calls == ["place", "capture"]
    assert service.available == 900 and service.held == {}


def test_each_period_captures_its_events_and_holds_the_next_one() -> None:
    service, clock = FakeService(1_000), Clock()
    with budget(service, clock) as b:
        b.charge("a", 30)
        clock.now = 10.0  # the period ends
        b.charge("b", 100)  # the next period's hold is whole again
        assert not b.charge("a", 30)  # charged in the earlier period: a replay
    assert service.calls == ["place", "place", "capture", "capture"]
    assert [len(events) for events in service.captured.values()] == [1, 1]
    assert service.available == 870


def test_a_period_with_nothing_used_releases_its_hold() -> None:
    service, clock = FakeService(1_000), Clock()
    with budget(service, clock):
        pass
    assert service.calls == ["place", "release"] and service.available == 1_000


def test_an_account_that_cannot_fund_two_holds_settles_first_then_holds_again() -> None:
    service, clock = FakeService(180), Clock()
    with budget(service, clock) as b:
        b.charge("a", 50)
        clock.now = 10.0
        b.charge("b", 50)  # 80 left cannot hold 100: capture "a" first (130 left), then hold
    assert service.calls == ["place", "place", "capture", "place", "capture"]
    assert service.charged == {"a", "b"} and service.available == 80


def test_no_hold_refuses_every_event_until_the_next_period() -> None:
    service, clock = FakeService(50), Clock()
    b = budget(service, clock).__enter__()
    with pytest.raises(BudgetExceeded):
        b.charge("a", 1)
    with pytest.raises(BudgetExceeded):
        b.charge("b", 1)
    assert service.calls == ["place"]  # tried once this period, not once per event
    service.available = 500
    clock.now = 10.0
    assert b.charge("c", 1)
    b.close()
    assert service.charged == {"c"}
