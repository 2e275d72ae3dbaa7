"""Refunds of credit orders that fail, wait or add up, on fakes: credits go back where they came
from, only on a final failure, and never more than the order granted (issue 22)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import PAID, GrantCategory, GrantTerms
from shared.payments.providers import RefundStatus
from shared.purchases.checkout import STRIPE
from shared.purchases.orders import CreditOrder
from tests.unit.fakes import NOW, deliver_razorpay, razorpay_payment
from tests.unit.test_credit_purchases import BASIC
from tests.unit.test_order_refunds import GRANTED, Desk

TEN_DAYS = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=NOW + timedelta(days=10))
NEVER_PROMOTIONAL = GrantTerms(GrantCategory.PROMOTIONAL)


def spend(desk: Desk, amount: int) -> None:
    desk.shop.ledger.append(
        "alice", [Posting(EntryType.USAGE, -amount)], effect_key=f"use:{amount}"
    )


def grants(desk: Desk) -> dict[str, int]:
    return {g.id: g.remaining for g in desk.shop.ledger.head("alice").open_grants()}


def stripe_lists(desk: Desk, order: CreditOrder, refund_id: str, status: RefundStatus) -> None:
    """Stripe now lists the refund in ``status``, as its adapter converts it on main."""
    listed = desk.shop.stripe.refunds.made[order.provider_order_id]
    returning = status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    for index, refund in enumerate(listed):
        if refund.id == refund_id:
            listed[index] = replace(refund, status=status, returning_money=returning)


def settle(desk: Desk, order: CreditOrder) -> None:
    """A Stripe refund event for the order's intent (charge.refund.updated, refund.failed)."""
    desk.shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)


def entries(desk: Desk) -> list[tuple[EntryType, int]]:
    kinds = (EntryType.REFUND, EntryType.REFUND_REVERSAL)
    return [(e.type, e.amount) for e in desk.shop.ledger.entries if e.type in kinds]


# --- 22.1: a failed refund gives credits back to the grants they came from --------------------


def test_a_failed_refund_gives_back_a_spent_orders_credits_as_the_expiring_grant_they_took() -> (
    None
):
    desk = Desk()
    order, payment_id = desk.razorpay_order()  # 55,000 credits
    spend(desk, GRANTED)
    desk.shop.ledger.append(
        "alice", [Posting(EntryType.GRANT, 10_000, grant=TEN_DAYS)], effect_key="promo"
    )
    answer = desk.refund(order)  # the clawback overdraws by 45,000
    assert desk.shop.balance() == 10_000 - GRANTED

    payment = razorpay_payment(payment_id, order.provider_order_id, 59_000, amount_refunded=0)
    failed = {"id": answer.refund_id, "amount": 59_000, "status": "failed"}
    deliver_razorpay(desk.shop.webhooks, "refund.failed", "evt_f", payment=payment, refund=failed)

    assert desk.shop.balance() == 10_000
    assert grants(desk) == {TEN_DAYS.id: 10_000}  # still expiring in 10 days, not never


def test_a_failed_refund_gives_an_expiring_purchase_bonus_back_expiring() -> None:
    desk = Desk()
    earlier = desk.stripe_order()  # $10.00: 83,250 + 8,325 credits, bonus never expiring
    granted = desk.shop.balance()
    spend(desk, granted)
    desk.shop.purchases.bonus_expiry_days = 10
    desk.razorpay_order()  # 50,000 paid + 5,000 bonus expiring in 10 days, unspent
    bonus = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=NOW + timedelta(days=10))

    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    answer = desk.refund(earlier)  # takes the later order's credits and overdraws
    assert desk.shop.balance() == GRANTED - granted
    stripe_lists(desk, earlier, answer.refund_id, RefundStatus.FAILED)
    settle(desk, earlier)

    assert grants(desk) == {PAID.id: BASIC.quote.credits, bonus.id: BASIC.quote.bonus_credits}


# --- 22.2: a refund is undone only on a final failure ------------------------------------------


def test_a_refund_waiting_for_the_customers_action_keeps_its_credits_taken() -> None:
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()
    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    answer = desk.refund(order)
    assert desk.shop.balance() == 0

    stripe_lists(desk, order, answer.refund_id, RefundStatus.REQUIRES_ACTION)
    settle(desk, order)
    assert desk.shop.balance() == 0  # the money may still go back: nothing is given back yet
    assert "restored" not in desk.shop.order(order.id).refunds[answer.refund_id]

    stripe_lists(desk, order, answer.refund_id, RefundStatus.CANCELED)  # final: it never will
    settle(desk, order)
    assert desk.shop.balance() == granted


def test_a_refund_returning_money_again_after_a_restore_is_taken_back_again_each_time_once() -> (
    None
):
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()
    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    answer = desk.refund(order, amount=5_00)
    half = granted // 2

    for status, balance in [
        (RefundStatus.FAILED, granted),  # given back
        (RefundStatus.SUCCEEDED, granted - half),  # the money went back after all: taken again
        (RefundStatus.CANCELED, granted),  # and given back again
    ]:
        stripe_lists(desk, order, answer.refund_id, status)
        for _ in range(2):  # each event and its redelivery: once
            settle(desk, order)
        assert desk.shop.balance() == balance
    assert entries(desk) == [
        (EntryType.REFUND, -half),
        (EntryType.REFUND_REVERSAL, half),
        (EntryType.REFUND, -half),
        (EntryType.REFUND_REVERSAL, half),
    ]


# --- 22.6: refunds adding up to the order take back exactly what it granted --------------------


def test_refunds_adding_up_to_the_order_after_one_failed_take_back_exactly_what_it_granted() -> (
    None
):
    desk = Desk()
    order = desk.stripe_order()  # 10_00 cents for 91,575 credits: shares round down
    granted = desk.shop.balance()
    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    desk.refund(order, amount=3_33)
    middle = desk.refund(order, amount=3_33)
    desk.refund(order, amount=3_34)
    stripe_lists(desk, order, middle.refund_id, RefundStatus.FAILED)
    settle(desk, order)

    last = desk.refund(order, amount=3_33)  # the order's total is refunded again

    assert desk.shop.balance() == 0  # not -1
    assert sum(amount for _, amount in entries(desk)) == -granted
    assert last.credits_taken_back > 0


# --- 22.7: history tells the truth -----------------------------------------------------------


def test_a_failed_refunds_give_back_is_a_refund_reversal_not_a_second_refund() -> None:
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()
    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    answer = desk.refund(order)
    stripe_lists(desk, order, answer.refund_id, RefundStatus.FAILED)
    settle(desk, order)

    assert entries(desk) == [(EntryType.REFUND, -granted), (EntryType.REFUND_REVERSAL, granted)]
    reversal = desk.shop.ledger.entries[-1]
    assert reversal.source["refund_id"] == answer.refund_id
    assert "credit units" not in reversal.description


def test_entry_descriptions_count_credits_as_the_portal_shows_them() -> None:
    desk = Desk()
    desk.razorpay_order()
    descriptions = [e.description for e in desk.shop.ledger.entries]
    assert not [d for d in descriptions if "credit units" in d], descriptions
    assert any("500.00 credits" in d for d in descriptions), descriptions


def test_the_history_type_filter_offers_every_entry_type() -> None:
    import re
    import typing
    from pathlib import Path

    from functions.transactions import EntryTypeName

    every = {kind.value for kind in EntryType}
    assert set(typing.get_args(EntryTypeName)) == every  # what GET /transactions?type= accepts
    page = (Path(__file__).parents[2] / "portal" / "index.html").read_text()
    select = page[page.index('<select id="history-type"') :]
    select = select[: select.index("</select>")]
    assert set(re.findall(r'<option value="([a-z_]+)"', select)) == every  # what the portal offers


def test_a_refund_processed_event_delivered_after_its_failure_takes_no_credits() -> None:
    desk = Desk()
    order, payment_id = desk.razorpay_order()
    made = desk.shop.razorpay.refund_payment(payment_id, 59_000, {}, "dashboard-refund")
    desk.shop.razorpay.refunds.fail(made.id)  # it failed before any of its events arrived
    payment = razorpay_payment(payment_id, order.provider_order_id, 59_000, amount_refunded=0)
    failed = {"id": made.id, "amount": 59_000, "status": "failed", "payment_id": payment_id}
    processed = {**failed, "status": "processed"}
    deliver_razorpay(desk.shop.webhooks, "refund.failed", "evt_f", payment=payment, refund=failed)
    # Razorpay's retry of an earlier event, delivered late: the refund returned no money.
    deliver_razorpay(
        desk.shop.webhooks, "refund.processed", "evt_p", payment=payment, refund=processed
    )

    assert desk.shop.balance() == GRANTED
    assert entries(desk) == []


@pytest.mark.xfail(
    strict=True,
    reason="open: the give-back restores only the grants the clawback drew from; credits that"
    " later paid its debt come back as a new never-expiring lot (the ledger would have to find"
    " the entries that paid that debt)",
)
def test_a_failed_refund_gives_back_an_expiring_grant_that_paid_its_debt_still_expiring() -> None:
    desk = Desk()
    order, payment_id = desk.razorpay_order()  # 55,000 credits
    spend(desk, GRANTED)
    answer = desk.refund(order)  # the clawback overdraws by 55,000
    # A grant expiring in 10 days comes in and pays 10,000 of that debt.
    desk.shop.ledger.append(
        "alice", [Posting(EntryType.GRANT, 10_000, grant=TEN_DAYS)], effect_key="promo"
    )
    assert desk.shop.balance() == 10_000 - GRANTED

    payment = razorpay_payment(payment_id, order.provider_order_id, 59_000, amount_refunded=0)
    failed = {"id": answer.refund_id, "amount": 59_000, "status": "failed"}
    deliver_razorpay(desk.shop.webhooks, "refund.failed", "evt_f", payment=payment, refund=failed)

    assert desk.shop.balance() == 10_000
    assert grants(desk) == {TEN_DAYS.id: 10_000}  # the debt never was: the grant is back as given
