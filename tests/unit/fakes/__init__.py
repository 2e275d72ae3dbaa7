"""In-memory implementations of the domain's ports, for service-layer tests in milliseconds.

Each fake keeps the port's promises that the use cases rely on (an effect applied at most once,
a claim refusing another use, side writes landing with their entries, create-only creates) and
nothing more: no I/O, no real clock, no threads. Provider types that other work may move are
imported in ``providers`` and ``card_payments`` only, so a move is followed there alone.
"""

from shared.payments.providers import RefundStatus
from tests.unit.fakes.card_payments import (
    DECLINED_CARD,
    THREE_D_SECURE_CARD,
    MemoryPayments,
    Stripe,
    deliver_stripe,
    gateway_refund,
    stripe_event,
)
from tests.unit.fakes.invoices import MemoryBilling, MemoryDocuments
from tests.unit.fakes.ledger import NOW, Clock, MemoryLedger, deep_merge
from tests.unit.fakes.providers import (
    Razorpay,
    StripeCheckout,
    credit_intent,
    deliver_razorpay,
    razorpay_payment,
)
from tests.unit.fakes.stores import (
    MemoryAccounts,
    MemoryDevices,
    MemoryHolds,
    MemoryIdempotency,
    MemoryOrderRefunds,
    MemoryOrders,
    MemoryPackages,
    MemoryProcessedEvents,
    MemoryQueue,
    MemorySlots,
    TokensAreUids,
)

__all__ = [
    "DECLINED_CARD",
    "NOW",
    "THREE_D_SECURE_CARD",
    "Clock",
    "MemoryAccounts",
    "MemoryBilling",
    "MemoryDevices",
    "MemoryDocuments",
    "MemoryHolds",
    "MemoryIdempotency",
    "MemoryLedger",
    "MemoryOrderRefunds",
    "MemoryOrders",
    "MemoryPackages",
    "MemoryPayments",
    "MemoryProcessedEvents",
    "MemoryQueue",
    "MemorySlots",
    "Razorpay",
    "RefundStatus",
    "Stripe",
    "StripeCheckout",
    "TokensAreUids",
    "credit_intent",
    "deep_merge",
    "deliver_razorpay",
    "deliver_stripe",
    "gateway_refund",
    "razorpay_payment",
    "stripe_event",
]
