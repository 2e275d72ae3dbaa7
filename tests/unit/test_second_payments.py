"""A second payment on a paid Razorpay order, on fakes: recorded as owed back, refunded alone.

The order's credits belong to the payment that paid it (``provider_payment_id``): refunds,
clawbacks and what is still refundable are that payment's; any other captured payment is money
the customer should get back, never credits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import InvalidRequest
from shared.purchases.orders import CreditOrder
from shared.purchases.reconciliation import ORDER, Due, ReconcilePolicy, Reconciler
from shared.purchases.refunds import OrderRefund, OrderRefundRequest, refund_credit_order
from tests.unit.fakes import (
    MemoryLedger,
    MemoryOrders,
    MemoryQueue,
    deliver_razorpay,
    razorpay_payment,
)
from tests.unit.test_order_refunds import GRANTED, Desk

TOTAL = 59_000


def refund_second_payment(
    desk: Desk, order: CreditOrder, payment_id: str, key: str | None = None
) -> OrderRefund:
    """An admin refunds a second payment through the order's refund endpoint's use case."""
    request = OrderRefundRequest(order.id, "paid twice", payment_id=payment_id)
    return refund_credit_order(desk.shop.purchases, desk.store, request, "admin-1", key)


def paid_twice(desk: Desk) -> tuple[CreditOrder, str, str]:
    """An order paid by one payment, then captured again by a second (two tabs, a late attempt)."""
    order, paying = desk.razorpay_order()
    second = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=0)
    deliver_razorpay(desk.shop.webhooks, "payment.captured", "evt_2", payment=payment)
    return desk.shop.order(order.id), paying, second


def test_a_second_captured_payment_on_a_paid_order_is_recorded_as_needing_a_refund() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    second = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=0)
    outcome = deliver_razorpay(desk.shop.webhooks, "payment.captured", "evt_2", payment=payment)
    order = desk.shop.order(order.id)

    assert outcome.outcome == "second payment: needs a refund"  # not "already granted"

    assert order.provider_payment_id == paying
    assert order.second_payments[second]["status"] == "needs_refund"
    assert order.second_payments[second]["amount"] == TOTAL
    assert desk.shop.balance() == GRANTED  # credits once, for the paying payment only


def test_a_second_payment_seen_again_is_recorded_once() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=0)
    again = deliver_razorpay(desk.shop.webhooks, "order.paid", "evt_3", payment=payment)
    assert again.outcome == "second payment: needs a refund"
    assert list(desk.shop.order(order.id).second_payments) == [second]


def test_a_refund_of_a_second_payment_takes_no_credits() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    refund = desk.shop.razorpay.refund_payment(second, TOTAL, {}, "support-refund")
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=TOTAL)
    outcome = deliver_razorpay(
        desk.shop.webhooks, "refund.processed", "evt_r", payment=payment,
        refund={"id": refund.id, "amount": TOTAL, "payment_id": second},
    )  # fmt: skip

    assert outcome.outcome == "refund of a second payment: credits untouched"
    assert desk.shop.balance() == GRANTED
    assert desk.refund_entries() == []
    assert desk.shop.order(order.id).second_payments[second]["status"] == "refunded"


def test_a_refunded_second_payment_never_blocks_nor_shrinks_a_refund_of_the_paying_one() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    desk.shop.razorpay.refund_payment(second, TOTAL, {}, "support-refund")

    answer = desk.refund(order)  # all that is refundable of the paying payment

    assert (answer.amount, answer.credits_taken_back) == (TOTAL, GRANTED)
    assert desk.shop.balance() == 0
    assert desk.refund_entries() == [-GRANTED]  # the second payment's refund took nothing


def test_an_admin_refunds_a_second_payment_once_without_touching_credits() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)

    first = refund_second_payment(desk, order, second, key="k1")
    again = refund_second_payment(desk, order, second, key="k1")

    assert (first.amount, first.credits_taken_back, first.made_now) == (TOTAL, 0, True)
    assert (again.refund_id, again.made_now) == (first.refund_id, False)
    refunds = desk.shop.razorpay.refunds_of(order.provider_order_id)
    assert [(r.payment_id, r.amount) for r in refunds] == [(second, TOTAL)]
    assert desk.shop.balance() == GRANTED
    assert desk.shop.order(order.id).second_payments[second]["status"] == "refunded"
    assert desk.refund(order).amount == TOTAL  # the paying payment is still all refundable


class StaleOrders(MemoryOrders):
    """Orders read as they were before a grant's commit landed (the emulator applies a commit's
    writes one by one: a concurrent reader may see the ledger entry before the order's paid_at)."""

    def __init__(self, stale: CreditOrder, ledger: MemoryLedger) -> None:
        super().__init__(ledger=ledger)
        self.stale = stale

    def by_provider_order(self, provider: str, provider_order_id: str) -> CreditOrder | None:
        return self.stale

    def get(self, order_id: str) -> CreditOrder | None:
        return self.stale


def test_a_payment_that_loses_the_grant_race_to_another_is_recorded_not_lost() -> None:
    desk = Desk()
    order = desk.shop.buy()
    first = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    second = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    desk.shop.verify(order, first)  # the first payment's grant lands
    stale = StaleOrders(order, desk.shop.ledger)  # the second's handler read the order before
    stale.orders = desk.shop.orders.orders
    desk.shop.webhooks.orders = stale
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=0)

    outcome = deliver_razorpay(desk.shop.webhooks, "payment.captured", "evt_2", payment=payment)

    assert outcome.outcome == "second payment: needs a refund"
    assert desk.shop.order(order.id).second_payments[second]["status"] == "needs_refund"


def test_verifying_a_second_payments_checkout_records_it() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    second = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)

    assert desk.shop.verify(order, second) == GRANTED  # the order is paid, as it was
    assert desk.shop.order(order.id).provider_payment_id == paying
    assert desk.shop.order(order.id).second_payments[second]["status"] == "needs_refund"
    assert desk.shop.balance() == GRANTED


def test_reconciliation_records_every_other_captured_payment_of_the_order_it_grants() -> None:
    desk = Desk()
    order = desk.shop.buy()
    first = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    second = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)  # both webhooks lost
    queue = MemoryQueue(Due(ORDER, order.id, order.created_at))
    run = Reconciler(
        ledger=desk.shop.ledger,
        orders=desk.shop.orders,
        payments=None,  # type: ignore[arg-type]  # no card payment is due here
        queue=queue,
        razorpay=lambda: desk.shop.razorpay,
        stripe=lambda: None,  # type: ignore[arg-type,return-value]
        clock=desk.shop.clock,
    )
    policy = ReconcilePolicy(timedelta(0), 10, timedelta(days=3), timedelta(hours=1))

    run.run(policy)

    stored = desk.shop.order(order.id)
    assert stored.provider_payment_id == first
    assert list(stored.second_payments) == [second]
    assert desk.shop.balance() == GRANTED


def test_a_refund_of_a_payment_that_is_no_second_payment_is_refused_naming_the_field() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    with pytest.raises(InvalidRequest) as unknown:
        refund_second_payment(desk, order, "pay_unknown")
    request = OrderRefundRequest(order.id, "paid twice", 100, payment_id=second)
    with pytest.raises(InvalidRequest) as partial:
        refund_credit_order(desk.shop.purchases, desk.store, request, "admin-1")
    assert "payment_id" in unknown.value.details["fields"]
    assert "amount" in partial.value.details["fields"]
    assert desk.shop.razorpay.refunds_of(order.provider_order_id) == []
