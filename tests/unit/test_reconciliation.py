"""Reconciliation's decisions, and a run over fakes: a purchase whose webhook never came."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.reconcile import report_json
from shared.payments.providers import ProviderPayment, ProviderPaymentStatus
from shared.purchases.orders import CreditOrder, OrderStatus
from shared.purchases.pricing import quote_purchase
from shared.purchases.reconciliation import ORDER, Action, Due, ReconcilePolicy, Reconciler, decide
from tests.unit.fakes import MemoryLedger, MemoryOrders, MemoryQueue, Razorpay

NOW = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = ReconcilePolicy(
    older_than=timedelta(minutes=15),
    limit=100,
    give_up_after=timedelta(days=3),
    backoff_cap=timedelta(hours=6),
)


def order(status: OrderStatus = OrderStatus.CREATED) -> CreditOrder:
    made = CreditOrder.from_quote(
        "ord_1",
        "u1",
        quote_purchase(500_00),  # total 59000 paise, 50000 + 5000 credits
        provider="razorpay",
        provider_order_id="order_1",
        created_at=NOW - timedelta(hours=1),
    )
    return replace(made, status=status)


def paid(status: str = "captured", amount: int = 59_000, pay_id: str = "pay_1") -> ProviderPayment:
    return ProviderPayment(pay_id, "order_1", amount, "inr", ProviderPaymentStatus(status))


# --- decisions -----------------------------------------------------------------------------


def test_a_captured_payment_that_matches_is_granted() -> None:
    decision = decide(order(), [paid("failed", pay_id="pay_0"), paid()])
    assert (decision.action, decision.payment) == (Action.GRANT, paid())


def test_an_authorized_payment_is_captured_first() -> None:
    assert decide(order(), [paid("authorized")]).action is Action.CAPTURE


def test_money_that_does_not_match_is_flagged_not_granted() -> None:
    decision = decide(order(), [paid(amount=100)])
    assert decision.action is Action.FLAG
    assert decision.problems == {"amount": {"expected": 59_000, "got": 100}}


def test_only_failures_mark_a_created_order_failed_once() -> None:
    assert decide(order(), [paid("failed")]).action is Action.FAIL
    assert decide(order(OrderStatus.FAILED), [paid("failed")]).action is Action.WAIT


def test_nothing_conclusive_waits() -> None:
    assert decide(order(), []).action is Action.WAIT
    assert decide(order(), [paid("created")]).action is Action.WAIT
    assert decide(order(OrderStatus.PAID), [paid()]).action is Action.WAIT


# --- a run over fakes ----------------------------------------------------------------------


def razorpay(*payments: ProviderPayment, **faults: Any) -> Razorpay:
    return Razorpay(payments=list(payments), **faults)


def reconciler(orders: MemoryOrders, queue: MemoryQueue, gateway: Razorpay) -> Reconciler:
    def no_stripe() -> Any:
        raise AssertionError("no Stripe item in this run")

    ledger = MemoryLedger(clock=lambda: NOW)
    orders.receive_side_writes(ledger)
    return Reconciler(
        ledger=ledger,
        orders=orders,
        payments=None,  # type: ignore[arg-type]  # no payment is due in these runs
        queue=queue,
        razorpay=lambda: gateway,
        stripe=no_stripe,
        clock=lambda: NOW,
    )


def due_order() -> Due:
    return Due(ORDER, "ord_1", NOW - timedelta(hours=1))


def test_a_purchase_whose_webhook_was_lost_is_granted_once() -> None:
    orders, queue = MemoryOrders(order()), MemoryQueue(due_order())
    run = reconciler(orders, queue, razorpay(paid()))

    report = report_json(run.run(POLICY))
    assert report["outcomes"] == {"granted": 1}
    assert orders.orders["ord_1"].status is OrderStatus.PAID
    assert run.ledger.head("u1").balance == 55_000
    assert queue.settled == {"ord_1": "granted"}

    queue.settled.clear()  # even if the queue handed it out again, nothing more is granted
    assert report_json(run.run(POLICY))["outcomes"] == {"already_paid": 1}
    assert run.ledger.head("u1").balance == 55_000


def test_an_unreachable_provider_changes_nothing_and_keeps_the_order_due() -> None:
    orders, queue = MemoryOrders(order()), MemoryQueue(due_order())
    run = reconciler(orders, queue, razorpay(paid(), down=True))

    assert report_json(run.run(POLICY))["outcomes"] == {"provider_error": 1}
    assert orders.orders["ord_1"].status is OrderStatus.CREATED
    assert queue.settled == {} and queue.postponed == {}


def test_an_open_checkout_is_looked_at_later_with_backoff_then_given_up() -> None:
    orders = MemoryOrders(order())
    third_look = replace(due_order(), checks=2)
    queue = MemoryQueue(third_look)
    run = reconciler(orders, queue, razorpay())

    assert report_json(run.run(POLICY))["outcomes"] == {"pending": 1}
    # Due again after 4 x the age (15, 30, 60 min ...): reconcile_from moves to now + 45 min.
    assert queue.postponed["ord_1"] == NOW + timedelta(minutes=45)

    old = MemoryQueue(Due(ORDER, "ord_1", NOW - timedelta(days=4)))
    assert report_json(reconciler(orders, old, razorpay()).run(POLICY))["outcomes"] == {
        "gave_up": 1
    }


def test_the_give_up_age_is_checked_before_asking_the_provider() -> None:
    orders = MemoryOrders(order())
    down = razorpay(down=True)  # asking would fail: the age alone decides
    old = MemoryQueue(Due(ORDER, "ord_1", NOW - timedelta(days=4)))

    assert report_json(reconciler(orders, old, down).run(POLICY))["outcomes"] == {"gave_up": 1}
    assert down.asked == []
    assert old.settled == {"ord_1": "gave_up"}


class TimedQueue(MemoryQueue):
    """A queue ordered by ``reconcile_from``, as the Firestore one is."""

    def __init__(self, *items: Due) -> None:
        super().__init__(*items)
        self.due_from = {item.id: item.created_at for item in items}

    def due(self, kind: str, before: datetime, limit: int) -> list[Due]:
        waiting = [i for i in self.open if i.id not in self.settled and i.kind == kind]
        ready = [i for i in waiting if self.due_from[i.id] <= before]
        return sorted(ready, key=lambda i: self.due_from[i.id])[:limit]

    def postpone(self, item: Due, until: datetime) -> None:
        self.due_from[item.id] = until
        self.open = [replace(i, checks=i.checks + 1) if i.id == item.id else i for i in self.open]


def test_orders_the_provider_refuses_never_starve_a_paid_one() -> None:
    """150 old orders Razorpay does not know (4xx) ahead of one paid order with lost webhooks."""
    paid_order = replace(order(), created_at=NOW - timedelta(hours=1))
    unknown = [
        replace(order(), id=f"ord_x{n:03d}", provider_order_id=f"order_gone_{n}")
        for n in range(150)
    ]
    orders = MemoryOrders(paid_order, *unknown)
    queue = TimedQueue(
        *(Due(ORDER, o.id, NOW - timedelta(days=2, minutes=n)) for n, o in enumerate(unknown)),
        due_order(),
    )
    clock = [NOW]
    run = replace(
        reconciler(orders, queue, razorpay(paid(), knows={"order_1"})), clock=lambda: clock[0]
    )

    outcomes: list[dict[str, int]] = []
    for _ in range(2):  # two scheduled runs, 5 minutes apart
        outcomes.append(report_json(run.run(POLICY))["outcomes"])
        clock[0] += timedelta(minutes=5)
    assert queue.settled.get("ord_1") == "granted", outcomes
    assert run.ledger.head("u1").balance == 55_000
    assert outcomes[0] == {"refused": 100}
    # Refused orders wait their backoff (due again one age later), not at the head of the queue.
    waits = sorted(queue.due_from[o.id] for o in unknown)
    assert waits == [NOW] * 100 + [NOW + timedelta(minutes=5)] * 50
