"""Chargebacks of credit orders, on fakes: a lost dispute takes the credits back as a refund does.

Policy (docs/guarantees.md): a dispute opened freezes nothing and is recorded on the order; a
dispute lost (Stripe ``charge.dispute.closed`` with ``lost``, Razorpay ``payment.dispute.lost``)
takes back the order's credits in proportion to the money taken, once, into debt if they were
spent; a dispute won, after the funds were withdrawn or not, gives nothing extra.
"""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest, Unavailable
from shared.ledger.entries import EntryType, Posting
from shared.purchases.orders import CreditOrder
from tests.unit.fakes import (
    MemoryPayments,
    deliver_razorpay,
    deliver_stripe,
    razorpay_payment,
    stripe_event,
)
from tests.unit.test_credit_purchases import Shop
from tests.unit.test_order_refunds import GRANTED, Desk
from tests.unit.test_second_payments import TOTAL, paid_twice, refund_second_payment


def spend_all(shop: Shop, user: str = "alice") -> None:
    usage = Posting(EntryType.USAGE, -shop.balance(user), description="spent", service="chat")
    shop.ledger.append(user, [usage], effect_key=f"spend-{len(shop.ledger.entries)}")


def razorpay_dispute(
    desk: Desk, order: CreditOrder, payment_id: str, status: str, event_id: str, **extra: object
) -> str:
    payment = razorpay_payment(payment_id, order.provider_order_id, TOTAL, amount_refunded=0)
    dispute = {"id": "disp_1", "entity": "dispute", "payment_id": payment_id, "amount": TOTAL,
               "currency": "INR", "status": status, "phase": "chargeback", **extra}  # fmt: skip
    outcome = deliver_razorpay(
        desk.shop.webhooks, f"payment.dispute.{status}", event_id, payment=payment,
        dispute=dispute,
    )  # fmt: skip
    return outcome.outcome


def test_a_lost_razorpay_dispute_takes_the_credits_back_into_debt_once() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    razorpay_dispute(desk, order, paying, "created", "evt_d0")
    assert desk.shop.balance() == GRANTED  # an open dispute freezes nothing
    spend_all(desk.shop)

    outcome = razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount_deducted=TOTAL)
    razorpay_dispute(desk, order, paying, "lost", "evt_d2", amount_deducted=TOTAL)  # redelivered

    assert outcome == "credits taken back"
    assert desk.shop.balance() == -GRANTED
    assert desk.shop.ledger.head("alice").available <= 0  # spending stops
    stored = desk.shop.order(order.id)
    assert stored.chargebacks["disp_1"]["credits"] == GRANTED
    assert stored.chargebacks["disp_1"]["overdraft"] == GRANTED


def test_a_dispute_lost_after_a_partial_refund_takes_only_the_rest() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    desk.refund(order, amount=TOTAL // 2)
    razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount=TOTAL // 2,
                     amount_deducted=TOTAL // 2)  # fmt: skip
    assert desk.shop.balance() == 0


def test_a_won_dispute_after_the_funds_were_withdrawn_gives_nothing_extra() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    for n, status in enumerate(("created", "under_review", "won")):
        razorpay_dispute(desk, order, paying, status, f"evt_d{n}")
    assert desk.shop.balance() == GRANTED
    assert desk.refund_entries() == []


def test_a_lost_dispute_of_a_second_payment_takes_no_credits() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    outcome = razorpay_dispute(desk, order, second, "lost", "evt_d1", amount_deducted=TOTAL)
    assert outcome == "second payment charged back: credits untouched"
    assert desk.shop.balance() == GRANTED
    assert desk.shop.order(order.id).second_payments[second]["status"] == "charged_back"


def test_a_lost_stripe_dispute_takes_the_credits_back_and_a_won_one_nothing() -> None:
    desk = Desk()
    lost, won = desk.stripe_order(), desk.stripe_order()
    payments = MemoryPayments()
    for order, outcome in ((lost, "lost"), (won, "won")):
        for n, (kind, status) in enumerate(
            (("created", "needs_response"), ("funds_withdrawn", "needs_response"),
             ("closed", outcome))
        ):  # fmt: skip
            dispute = {"id": f"dp_{order.id}", "status": status, "amount": order.total}
            event = stripe_event(
                f"evt_{order.id}_{n}", f"charge.dispute.{kind}",
                payment_intent_id=order.provider_order_id, dispute=dispute,
            )  # fmt: skip
            for _ in range(2):  # each event delivered twice
                deliver_stripe(
                    payments, event, credit_order_disputed=desk.shop.purchases.stripe_dispute_event
                )
    assert desk.shop.balance() == won.granted_credits  # the lost order's credits went back
    assert desk.shop.order(lost.id).chargebacks[f"dp_{lost.id}"]["credits"] == lost.granted_credits
    assert desk.shop.order(won.id).chargebacks == {}


def test_an_admin_refund_of_a_charged_back_order_is_refused() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount_deducted=TOTAL)
    with pytest.raises(InvalidRequest, match="charged back"):
        desk.refund(order)
    assert desk.shop.razorpay.refunds_of(order.provider_order_id) == []


def test_a_lost_dispute_before_the_grant_is_retried_until_it_can_take_the_credits() -> None:
    desk = Desk()
    order = desk.shop.buy()
    paying = desk.shop.razorpay.pay(order.provider_order_id, TOTAL)
    with pytest.raises(Unavailable):  # the provider redelivers it later
        razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount_deducted=TOTAL)
    desk.shop.verify(order, paying)
    razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount_deducted=TOTAL)
    assert desk.shop.balance() == 0


def test_a_charged_back_second_payment_is_not_refunded_again() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    razorpay_dispute(desk, order, second, "lost", "evt_d1", amount_deducted=TOTAL)
    order = desk.shop.order(order.id)
    with pytest.raises(InvalidRequest, match="charged back") as refused:
        refund_second_payment(desk, order, second)
    assert list(refused.value.details["fields"]) == ["payment_id"]
    # The buyer has the money back through the chargeback: no second return of it.
    assert desk.shop.razorpay.refunds_of(order.provider_order_id) == []


def test_a_refund_of_what_a_partial_chargeback_left_takes_back_the_rest_exactly() -> None:
    desk = Desk()
    order, paying = desk.razorpay_order()
    razorpay_dispute(desk, order, paying, "lost", "evt_d1", amount=1, amount_deducted=1)
    # The rest of the money goes back through Razorpay's dashboard: nothing is left kept.
    refund = desk.shop.razorpay.refund_payment(paying, TOTAL - 1, {}, "dashboard")
    payment = razorpay_payment(paying, order.provider_order_id, TOTAL, amount_refunded=TOTAL - 1)
    deliver_razorpay(
        desk.shop.webhooks, "refund.processed", "evt_r", payment=payment,
        refund={"id": refund.id, "amount": TOTAL - 1, "payment_id": paying},
    )  # fmt: skip
    assert desk.shop.balance() == 0  # not 1: all the money went back, so do all the credits


def test_a_second_payment_stays_charged_back_when_an_earlier_refund_of_it_fails() -> None:
    desk = Desk()
    order, _, second = paid_twice(desk)
    support = desk.shop.razorpay.refund_payment(second, TOTAL, {}, "support-refund")
    razorpay_dispute(desk, order, second, "lost", "evt_d1", amount_deducted=TOTAL)
    desk.shop.razorpay.refunds.fail(support.id)  # the support refund fails after the chargeback
    payment = razorpay_payment(second, order.provider_order_id, TOTAL, amount_refunded=0)
    failed = {"id": support.id, "amount": TOTAL, "status": "failed", "payment_id": second}
    deliver_razorpay(desk.shop.webhooks, "refund.failed", "evt_f", payment=payment, refund=failed)

    order = desk.shop.order(order.id)
    assert order.second_payments[second]["status"] == "charged_back"  # not "needs_refund"
    with pytest.raises(InvalidRequest, match="charged back"):
        refund_second_payment(desk, order, second)
