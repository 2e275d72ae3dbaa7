"""Reconciliation's decisions, and a run over fakes: a purchase whose webhook never came."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.reconcile import report_json
from shared.checkout import CheckoutGateway, ProviderOrder, ProviderPayment
from shared.errors import ProviderError, ProviderRejected
from shared.ledger import (
    AccountHead,
    AppendResult,
    DocumentWrite,
    EffectOutcome,
    EffectRequest,
    HistoryPage,
    IdClaim,
    LedgerEntry,
    LedgerStore,
    Posting,
    plan_effects,
)
from shared.orders import CreditOrder, OrderPage, OrderStatus, OrderStore
from shared.pricing import quote_purchase
from shared.reconciliation import (
    ORDER,
    Action,
    Due,
    ReconcilePolicy,
    ReconcileQueue,
    Reconciler,
    decide,
)

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
    return ProviderPayment(pay_id, "order_1", amount, "inr", status)


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


class MemoryLedger(LedgerStore):
    def __init__(self, orders: MemoryOrders) -> None:
        self.entries: list[LedgerEntry] = []
        self.effects: dict[str, list[LedgerEntry]] = {}
        self.orders = orders

    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        raise NotImplementedError

    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[DocumentWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        [outcome], fresh = plan_effects(
            self.head(user_id), [EffectRequest(postings, effect_key)], self.effects, NOW
        )
        for result in fresh:
            self.entries += result.entries
            if effect_key:
                self.effects[effect_key] = result.entries
            for write in side_writes:
                self.orders.merge(write.document_id, write.data)
        assert outcome.result is not None
        return outcome.result

    def head(self, user_id: str) -> AccountHead:
        mine = [e for e in self.entries if e.user_id == user_id]
        return mine[-1].head if mine else AccountHead(user_id)

    def history(self, *args: Any, **kwargs: Any) -> HistoryPage:
        raise NotImplementedError


class MemoryOrders(OrderStore):
    def __init__(self, *orders: CreditOrder) -> None:
        self.orders = {o.id: o for o in orders}

    def create(self, order: CreditOrder) -> bool:
        if order.id in self.orders:
            return False
        self.orders[order.id] = order
        return True

    def get(self, order_id: str) -> CreditOrder | None:
        return self.orders.get(order_id)

    def by_provider_order(self, provider: str, provider_order_id: str) -> CreditOrder | None:
        raise NotImplementedError

    def list_for_user(self, user_id: str, limit: int, cursor: str | None) -> OrderPage:
        raise NotImplementedError

    def merge(self, order_id: str, fields: Mapping[str, Any]) -> None:
        known = {k: v for k, v in fields.items() if k in ("provider_payment_id", "paid_at")}
        status = fields.get("status")
        updated = replace(self.orders[order_id], **known)
        if isinstance(status, str):
            updated = replace(updated, status=OrderStatus(status))
        self.orders[order_id] = updated


class MemoryQueue(ReconcileQueue):
    def __init__(self, *items: Due) -> None:
        self.open = list(items)
        self.settled: dict[str, str] = {}
        self.postponed: dict[str, datetime] = {}

    def due(self, kind: str, before: datetime, limit: int) -> list[Due]:
        return [i for i in self.open if i.kind == kind and i.id not in self.settled][:limit]

    def postpone(self, item: Due, until: datetime) -> None:
        self.postponed[item.id] = until

    def settle(self, item: Due, outcome: str) -> None:
        self.settled[item.id] = outcome


class Razorpay(CheckoutGateway):
    name = "razorpay"
    key_id = "rzp_test"

    def __init__(
        self, *payments: ProviderPayment, down: bool = False, knows: set[str] | None = None
    ) -> None:
        self.payments = list(payments)
        self.down = down
        self.knows = knows  # provider order ids it has; None: every one
        self.asked: list[str] = []

    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        self.asked.append(provider_order_id)
        if self.down:
            raise ProviderError("Razorpay did not answer")
        if self.knows is not None and provider_order_id not in self.knows:
            raise ProviderRejected("Razorpay refused the request: the id does not exist")
        return [p for p in self.payments if p.order_id == provider_order_id]

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        raise NotImplementedError

    def fetch_payment(self, payment_id: str) -> ProviderPayment:
        raise NotImplementedError

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment:
        raise NotImplementedError

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        return False

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        return False


def reconciler(orders: MemoryOrders, queue: MemoryQueue, razorpay: Razorpay) -> Reconciler:
    def no_stripe() -> Any:
        raise AssertionError("no Stripe item in this run")

    return Reconciler(
        ledger=MemoryLedger(orders),
        orders=orders,
        payments=None,  # type: ignore[arg-type]  # no payment is due in these runs
        queue=queue,
        razorpay=lambda: razorpay,
        stripe=no_stripe,
        clock=lambda: NOW,
    )


def due_order() -> Due:
    return Due(ORDER, "ord_1", NOW - timedelta(hours=1))


def test_a_purchase_whose_webhook_was_lost_is_granted_once() -> None:
    orders, queue = MemoryOrders(order()), MemoryQueue(due_order())
    run = reconciler(orders, queue, Razorpay(paid()))

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
    run = reconciler(orders, queue, Razorpay(paid(), down=True))

    assert report_json(run.run(POLICY))["outcomes"] == {"provider_error": 1}
    assert orders.orders["ord_1"].status is OrderStatus.CREATED
    assert queue.settled == {} and queue.postponed == {}


def test_an_open_checkout_is_looked_at_later_with_backoff_then_given_up() -> None:
    orders = MemoryOrders(order())
    third_look = replace(due_order(), checks=2)
    queue = MemoryQueue(third_look)
    run = reconciler(orders, queue, Razorpay())

    assert report_json(run.run(POLICY))["outcomes"] == {"pending": 1}
    # Due again after 4 x the age (15, 30, 60 min ...): reconcile_from moves to now + 45 min.
    assert queue.postponed["ord_1"] == NOW + timedelta(minutes=45)

    old = MemoryQueue(Due(ORDER, "ord_1", NOW - timedelta(days=4)))
    assert report_json(reconciler(orders, old, Razorpay()).run(POLICY))["outcomes"] == {
        "gave_up": 1
    }


def test_the_give_up_age_is_checked_before_asking_the_provider() -> None:
    orders = MemoryOrders(order())
    razorpay = Razorpay(down=True)  # asking would fail: the age alone decides
    old = MemoryQueue(Due(ORDER, "ord_1", NOW - timedelta(days=4)))

    assert report_json(reconciler(orders, old, razorpay).run(POLICY))["outcomes"] == {"gave_up": 1}
    assert razorpay.asked == []
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
        reconciler(orders, queue, Razorpay(paid(), knows={"order_1"})), clock=lambda: clock[0]
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
