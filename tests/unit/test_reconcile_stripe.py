"""Reconciliation of Stripe's side on fakes: lost webhooks of card payments and credit orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.payments.card_payments import owned_payment, process_payment
from shared.payments.records import PaymentRequest, PaymentStatus
from shared.purchases.orders import CreditOrder, OrderStatus
from shared.purchases.pricing import quote_foreign_purchase
from shared.purchases.reconciliation import ORDER, PAYMENT, Due, ReconcilePolicy, Reconciler
from tests.unit.fakes import (
    NOW,
    THREE_D_SECURE_CARD,
    MemoryLedger,
    MemoryOrders,
    MemoryPayments,
    MemoryQueue,
    Razorpay,
    Stripe,
    credit_intent,
)

POLICY = ReconcilePolicy(
    older_than=timedelta(minutes=15),
    limit=100,
    give_up_after=timedelta(days=3),
    backoff_cap=timedelta(hours=6),
)
EARLIER = NOW - timedelta(hours=1)


def reconciler(
    stripe: Stripe, queue: MemoryQueue, payments: MemoryPayments, orders: MemoryOrders
) -> Reconciler:
    ledger = MemoryLedger()
    orders.receive_side_writes(ledger)
    return Reconciler(
        ledger=ledger,
        orders=orders,
        payments=payments,
        queue=queue,
        razorpay=Razorpay,
        stripe=lambda: stripe,
        clock=lambda: NOW,
    )


def outcomes(run: Reconciler) -> dict[str, int]:
    return {o.outcome: 1 for o in run.run(POLICY).outcomes}


def test_a_card_payment_whose_webhook_was_lost_is_brought_forward_and_notified_once() -> None:
    stripe, payments = Stripe(), MemoryPayments()
    request = PaymentRequest(5_000, "usd", THREE_D_SECURE_CARD)
    intent_id = process_payment(stripe, payments, request, "alice").payment_intent_id
    stripe.move(intent_id, PaymentStatus.SUCCEEDED)  # 3-D Secure passed; the webhook is lost
    queue = MemoryQueue(Due(PAYMENT, intent_id, EARLIER))
    run = reconciler(stripe, queue, payments, MemoryOrders())

    assert outcomes(run) == {"succeeded": 1}
    assert owned_payment(payments, intent_id, "alice").status is PaymentStatus.SUCCEEDED
    queue.settled.clear()
    run.run(POLICY)
    assert list(payments.outbox) == [f"payment.succeeded.{intent_id}"]


def test_a_payment_still_waiting_for_the_customer_stays_due() -> None:
    stripe, payments = Stripe(), MemoryPayments()
    request = PaymentRequest(5_000, "usd", THREE_D_SECURE_CARD)
    intent_id = process_payment(stripe, payments, request, "alice").payment_intent_id
    queue = MemoryQueue(Due(PAYMENT, intent_id, EARLIER))

    assert outcomes(reconciler(stripe, queue, payments, MemoryOrders())) == {"pending": 1}
    assert queue.settled == {} and intent_id in queue.postponed


def test_a_stripe_credit_order_whose_webhook_was_lost_is_granted_once() -> None:
    quote = quote_foreign_purchase(10_00, "usd", Decimal(8325))
    order = CreditOrder.from_quote(
        "ord_1", "alice", quote, provider="stripe", provider_order_id="pi_1", created_at=EARLIER
    )
    stripe = Stripe(intents={"pi_1": credit_intent("pi_1", quote.total, "usd")})
    orders = MemoryOrders(order)
    run = reconciler(stripe, MemoryQueue(Due(ORDER, "ord_1", EARLIER)), MemoryPayments(), orders)

    assert outcomes(run) == {"granted": 1}
    assert run.ledger.head("alice").balance == order.granted_credits
    assert orders.orders["ord_1"].status is OrderStatus.PAID
