"""Second payments: money captured on a credit order that another payment already paid.

Razorpay lets an order be paid more than once (two Checkout tabs, an earlier attempt authorised
late). The order's credits belong to the payment that paid it (``provider_payment_id``); any
other captured payment buys nothing and is owed back. It is recorded on the order under
``second_payments.{payment_id}`` (``status``: ``needs_refund``, then ``refund_pending``,
``refunded`` or ``charged_back``), logged as ``second payment needs a refund`` (the
``billing_second_payments`` metric), and an admin refunds it in full through the order's refund
endpoint with its ``payment_id``: no reservation is needed, since the provider's idempotency
key derives from the payment and what is left of it, and credits are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.errors import invalid_field
from shared.ledger.store import LedgerStore
from shared.log import get_logger
from shared.payments.providers import (
    OrderRefundGateway,
    ProviderPayment,
    ProviderPaymentStatus,
    ProviderRefund,
    RefundStatus,
)
from shared.purchases.orders import CreditOrder, OrderStore, SecondPaymentRecorded

log = get_logger("payments")
NEEDS_REFUND = "needs_refund"
CHARGED_BACK = "charged_back"  # a lost dispute gave the buyer the money back: nothing is owed
SECOND_PAYMENT_METADATA_KEY = "second_payment_id"  # in the refund's notes: which payment it returns


def is_second_payment(order: CreditOrder, payment_id: str) -> bool:
    """Whether ``payment_id`` is a payment of a paid order other than the one that paid it."""
    return order.paid_at is not None and payment_id != order.provider_payment_id


def paid_by(ledger: LedgerStore, order: CreditOrder) -> str | None:
    """The payment whose grant the ledger holds for ``order`` (the ledger is the truth: the
    order's ``provider_payment_id`` rides in the same commit but may be read before it lands)."""
    entries = ledger.effect(order.grant_effect_key)
    return entries[0].source.get("payment_id") if entries else None


def record_second_payment(
    orders: OrderStore, order: CreditOrder, payment: ProviderPayment, now: datetime
) -> None:
    """Record a captured payment of an already paid order as money to give back (once)."""
    if payment.id in order.second_payments:
        return  # already known: a redelivery must not undo a refund recorded since
    first = SecondPaymentRecorded(
        order.id, payment.id, NEEDS_REFUND, now, amount=payment.amount, currency=payment.currency
    )
    orders.update(first)
    extra = {"provider": order.provider, "order_id": order.id, "payment_id": payment.id}
    log.warning("second payment needs a refund", extra={**extra, "amount": payment.amount})


def record_second_payment_refund(
    orders: OrderStore,
    order: CreditOrder,
    payment: ProviderPayment,
    refund: ProviderRefund,
    *,
    refunded: int,
    now: datetime,
) -> None:
    """Record a refund of a second payment: credits stay, the money owed shrinks."""
    record_second_payment(orders, order, payment, now)
    returning = refund.returning_money
    status = "refunded" if returning and refunded >= payment.amount else NEEDS_REFUND
    if returning and refund.status is RefundStatus.PENDING:
        status = "refund_pending"
    known = order.second_payments.get(payment.id)
    if isinstance(known, Mapping) and known.get("status") == CHARGED_BACK:
        status = CHARGED_BACK  # the chargeback returned the money: a refund's fate owes nothing
    orders.update(SecondPaymentRecorded(order.id, payment.id, status, now, refund=refund))


def record_second_payment_charged_back(
    orders: OrderStore, order: CreditOrder, payment: ProviderPayment, dispute_id: str, now: datetime
) -> None:
    """A second payment's dispute was lost: the buyer has the money back, nothing is owed."""
    record_second_payment(orders, order, payment, now)
    charged_back = SecondPaymentRecorded(
        order.id, payment.id, CHARGED_BACK, now, dispute_id=dispute_id
    )
    orders.update(charged_back)


def refund_second_payment(
    gateway: Callable[[], OrderRefundGateway],
    orders: OrderStore,
    order: CreditOrder,
    payment_id: str,
    *,
    amount: int | None,
    now: datetime,
) -> tuple[ProviderRefund, bool]:
    """Refund what is left of a second payment through the provider, once; credits stay.

    Returns the refund and whether this call made it. A retry (or a concurrent request) finds
    the refund an earlier attempt made by its notes, or asks with the same idempotency key.
    """
    if amount is not None:
        raise invalid_field("amount", "a second payment is refunded in full: omit amount")
    known = order.second_payments.get(payment_id)
    if not isinstance(known, Mapping) or not is_second_payment(order, payment_id):
        raise invalid_field("payment_id", "not a second payment of this order")
    if known.get("status") == CHARGED_BACK:  # the buyer has the money back already
        raise invalid_field("payment_id", "this payment was charged back: nothing to refund")
    refunds_gateway = gateway()
    listed = [r for r in refunds_gateway.refunds_of(order.provider_order_id)
              if r.payment_id == payment_id]  # fmt: skip
    paid = int(known.get("amount") or 0)
    payment = ProviderPayment(
        payment_id,
        order.provider_order_id,
        paid,
        str(known.get("currency")),
        ProviderPaymentStatus.CAPTURED,
    )
    ours = [r for r in listed if r.returning_money and _made_by_us(r, payment_id)]
    if ours:
        refund = ours[-1]
        _record(orders, order, payment, refund, listed=listed, now=now)
        return refund, False
    left = paid - sum(r.amount for r in listed if r.returning_money)
    if left <= 0:
        raise invalid_field("payment_id", "this payment is already refunded")
    failed = sum(1 for r in listed if not r.returning_money)
    notes = {SECOND_PAYMENT_METADATA_KEY: payment_id, "credit_order_id": order.id}
    key = f"second-payment-refund-{payment_id}-{left}-{failed}"  # the same for every retry
    refund = refunds_gateway.refund_payment(payment_id, left, notes, key)
    _record(orders, order, payment, refund, listed=[*listed, refund], now=now)
    return refund, True


def _made_by_us(refund: ProviderRefund, payment_id: str) -> bool:
    return refund.notes.get(SECOND_PAYMENT_METADATA_KEY) == payment_id


def _record(
    orders: OrderStore,
    order: CreditOrder,
    payment: ProviderPayment,
    refund: ProviderRefund,
    *,
    listed: Sequence[ProviderRefund],
    now: datetime,
) -> None:
    refunded = sum(r.amount for r in {r.id: r for r in listed}.values() if r.returning_money)
    record_second_payment_refund(orders, order, payment, refund, refunded=refunded, now=now)
