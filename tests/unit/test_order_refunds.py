"""Refunds of credit purchases started by an admin, on fakes: through the provider once, credits
taken back once whichever of our answer and the provider's webhook comes first."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from shared.errors import (
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderRejected,
)
from shared.ledger.entries import EntryType
from shared.payments.providers import RefundStatus
from shared.payments.refund_reservations import RESERVATION_METADATA_KEY
from shared.purchases.checkout import STRIPE, PurchaseRequest
from shared.purchases.orders import CreditOrder
from shared.purchases.refunds import OrderRefund, OrderRefundRequest, refund_credit_order
from tests.unit.fakes import MemoryOrderRefunds, credit_intent, deliver_razorpay, razorpay_payment
from tests.unit.test_credit_purchases import BASIC, Shop

GRANTED = 55_000  # BASIC: 50_000 credits + 5_000 bonus for 59_000 paise


@dataclass
class Desk:
    """The admin's refund desk over a shop: purchases, reservations, one admin."""

    shop: Shop = field(default_factory=Shop)
    store: MemoryOrderRefunds = field(default_factory=MemoryOrderRefunds)

    def refund(
        self, order: CreditOrder, reason: str = "customer asked", amount: int | None = None,
        key: str | None = None,
    ) -> OrderRefund:  # fmt: skip
        request = OrderRefundRequest(order.id, reason, amount)
        return refund_credit_order(self.shop.purchases, self.store, request, "admin-1", key)

    def razorpay_order(self) -> tuple[CreditOrder, str]:
        order = self.shop.buy()
        payment_id = self.shop.razorpay.pay(order.provider_order_id, BASIC.quote.total)
        self.shop.verify(order, payment_id)
        return self.shop.order(order.id), payment_id

    def stripe_order(self) -> CreditOrder:
        purchases = self.shop.purchases
        order = purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd")).order
        purchases.stripe_intent_event(credit_intent(order.provider_order_id, 10_00, "usd"), "e1")
        return self.shop.order(order.id)

    def refund_entries(self) -> list[int]:
        return [e.amount for e in self.shop.ledger.entries if e.type is EntryType.REFUND]


def refund_processed(desk: Desk, order: CreditOrder, payment_id: str, event_id: str) -> str:
    """Razorpay's refund.processed for the order's latest refund, as the sandbox sends it."""
    [*_, refund] = desk.shop.razorpay.refunds_of(order.provider_order_id)
    refunded = sum(r.amount for r in desk.shop.razorpay.refunds_of(order.provider_order_id))
    payment = razorpay_payment(payment_id, order.provider_order_id, 59_000,
                               amount_refunded=refunded)  # fmt: skip
    outcome = deliver_razorpay(
        desk.shop.webhooks, "refund.processed", event_id, payment=payment,
        refund={"id": refund.id, "amount": refund.amount},
    )  # fmt: skip
    return outcome.outcome


def test_an_admin_refund_goes_through_razorpay_and_takes_the_credits_back_once() -> None:
    desk = Desk()
    order, payment_id = desk.razorpay_order()

    answer = desk.refund(order, amount=29_500, key="k1")

    assert (answer.order_id, answer.provider, answer.amount, answer.currency) == (
        order.id, "razorpay", 29_500, "inr",
    )  # fmt: skip
    assert (answer.status, answer.credits_taken_back, answer.made_now) == (
        RefundStatus.SUCCEEDED, GRANTED // 2, True,
    )  # fmt: skip
    [made] = desk.shop.razorpay.refunds_of(order.provider_order_id)
    assert made.id == answer.refund_id
    assert made.notes[RESERVATION_METADATA_KEY] == answer.reservation_id
    # Razorpay's refund.processed for the same refund arrives after our answer: nothing more.
    assert refund_processed(desk, order, payment_id, "evt_r1") == "credits taken back"
    assert desk.refund_entries() == [-GRANTED // 2]
    assert desk.shop.balance() == GRANTED // 2


def test_a_stripe_refund_then_its_charge_refunded_event_takes_the_credits_once() -> None:
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()

    answer = desk.refund(order, key="all")  # no amount: everything still refundable

    assert (answer.provider, answer.amount, answer.credits_taken_back) == ("stripe", 10_00, granted)
    for _ in range(2):  # charge.refunded, and its redelivery
        desk.shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)
    assert desk.refund_entries() == [-granted]
    assert desk.shop.balance() == 0


def test_the_webhook_first_then_the_retried_answer_takes_the_credits_once() -> None:
    desk = Desk()
    order, payment_id = desk.razorpay_order()
    desk.shop.razorpay.refunds.lose_answers = True
    with pytest.raises(ProviderError):
        desk.refund(order, amount=59_000, key="lost")  # Razorpay refunded; its answer was lost
    assert refund_processed(desk, order, payment_id, "evt_r1") == "credits taken back"

    desk.shop.razorpay.refunds.lose_answers = False
    answer = desk.refund(order, amount=59_000, key="lost")  # the admin retries

    assert (answer.credits_taken_back, answer.made_now) == (GRANTED, False)
    assert len(desk.shop.razorpay.refunds_of(order.provider_order_id)) == 1  # refunded once
    assert desk.refund_entries() == [-GRANTED]


def test_a_retry_after_a_lost_answer_asks_with_the_same_key_and_refunds_once() -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    desk.shop.razorpay.refunds.lose_answers = True
    with pytest.raises(ProviderError):
        desk.refund(order, amount=10_000, key="k")
    desk.shop.razorpay.refunds.lose_answers = False

    first = desk.refund(order, amount=10_000, key="k")
    again = desk.refund(order, amount=10_000, key="k")

    assert first.refund_id == again.refund_id
    assert len(desk.shop.razorpay.refunds_of(order.provider_order_id)) == 1
    assert len(desk.shop.razorpay.refunds.keys) == 1  # both attempts sent one idempotency key
    assert desk.refund_entries() == [-(GRANTED * 10_000 // 59_000)]


def test_a_lost_refund_without_a_key_is_counted_before_the_next_one() -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    desk.shop.razorpay.refunds.lose_answers = True
    with pytest.raises(ProviderError):
        desk.refund(order, amount=20_000)
    desk.shop.razorpay.refunds.lose_answers = False

    rest = desk.refund(order)  # everything else

    assert rest.amount == 39_000  # the lost 20_000 counted as refunded, never twice
    with pytest.raises(InvalidRequest) as nothing_left:
        desk.refund(order)
    assert "amount" in nothing_left.value.details["fields"]
    [lost] = [r for r in desk.store.kept.values() if r.amount == 20_000]
    assert lost.refund_id is not None  # settled from Razorpay's list of the order's refunds
    assert sum(desk.refund_entries()) == -GRANTED  # both refunds, all the credits, once each


def test_partial_refunds_add_up_to_the_order_and_never_more() -> None:
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()
    answers = [desk.refund(order, amount=3_00), desk.refund(order, amount=7_00)]
    assert sum(a.credits_taken_back for a in answers) == granted
    assert desk.shop.balance() == 0
    with pytest.raises(InvalidRequest):
        desk.refund(order, amount=1)


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        (0, "r", "amount"),
        (-5, "r", "amount"),
        (59_001, "r", "amount"),  # more than the order's total
        (True, "r", "amount"),
        (100, "   ", "reason"),
        (100, "x" * 501, "reason"),
    ],
)
def test_bad_refunds_are_refused_naming_the_field_and_change_nothing(
    amount: int, reason: str, field: str
) -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    with pytest.raises(InvalidRequest) as refused:
        desk.refund(order, reason, amount)
    assert field in refused.value.details["fields"]
    assert desk.shop.razorpay.refunds.calls == 0 and desk.store.kept == {}
    assert desk.shop.balance() == GRANTED


def test_an_unknown_order_is_not_found_and_an_unpaid_one_is_refused() -> None:
    desk = Desk()
    with pytest.raises(NotFound):
        refund_credit_order(
            desk.shop.purchases, desk.store, OrderRefundRequest("ord_none", "r"), "admin-1"
        )
    unpaid = desk.shop.buy()
    with pytest.raises(InvalidRequest) as refused:
        desk.refund(unpaid)
    assert "order_id" in refused.value.details["fields"]


def test_one_key_for_another_refund_of_the_order_is_refused() -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    desk.refund(order, amount=1_000, key="k")
    with pytest.raises(IdempotencyKeyReused):
        desk.refund(order, amount=2_000, key="k")


def test_a_refund_the_provider_refuses_frees_its_amount() -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    desk.shop.razorpay.refunds.refuse = True
    with pytest.raises(ProviderRejected):
        desk.refund(order, key="k")
    desk.shop.razorpay.refunds.refuse = False
    assert desk.refund(order, key="k2").amount == 59_000  # nothing was held back
    assert list(desk.store.released.values()) == ["the provider refused the refund"]


def test_a_pending_refund_takes_the_credits_at_once_and_a_failure_gives_them_back() -> None:
    desk = Desk()
    order = desk.stripe_order()
    granted = desk.shop.balance()
    desk.shop.stripe.refunds.status = RefundStatus.PENDING
    answer = desk.refund(order, amount=5_00)
    assert (answer.status, answer.credits_taken_back) == (RefundStatus.PENDING, granted // 2)

    desk.shop.stripe.refunds.fail(answer.refund_id)  # Stripe: refund.failed
    desk.shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)

    assert desk.shop.balance() == granted
    desk.shop.stripe.refunds.status = RefundStatus.SUCCEEDED
    assert desk.refund(order).amount == 10_00  # the failed refund's money is refundable again
    assert desk.shop.balance() == 0


def test_a_retry_the_provider_refuses_keeps_its_amount_counted() -> None:
    desk = Desk()
    order, _ = desk.razorpay_order()
    desk.shop.razorpay.refunds.lose_requests = True  # the first attempt's fate is unknown
    with pytest.raises(ProviderError):
        desk.refund(order, amount=9_000, key="k")
    desk.shop.razorpay.refunds.lose_requests = False
    desk.shop.razorpay.refunds.refuse = True  # e.g. Razorpay's 409 while it processes the first
    with pytest.raises(ProviderRejected):
        desk.refund(order, amount=9_000, key="k")
    desk.shop.razorpay.refunds.refuse = False

    assert desk.refund(order).amount == 50_000  # the 9_000 stays counted until Razorpay says
    assert desk.store.released == {}


def test_a_razorpay_refund_that_fails_gives_the_credits_back_once() -> None:
    desk = Desk()
    order, payment_id = desk.razorpay_order()
    answer = desk.refund(order, amount=59_000)
    payment = razorpay_payment(payment_id, order.provider_order_id, 59_000, amount_refunded=0)
    failed = {"id": answer.refund_id, "amount": 59_000, "status": "failed"}
    for event_id in ("evt_f1", "evt_f2"):  # refund.failed, and another event saying it
        deliver_razorpay(
            desk.shop.webhooks, "refund.failed", event_id, payment=payment, refund=failed
        )
    assert desk.refund_entries() == [-GRANTED]
    reversals = [e for e in desk.shop.ledger.entries if e.type is EntryType.REFUND_REVERSAL]
    assert [e.amount for e in reversals] == [GRANTED]
    assert desk.shop.order(order.id).refunds[answer.refund_id]["restored"]["status"] == "failed"
