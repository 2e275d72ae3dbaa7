"""Reconciliation: settle what a lost webhook left hanging, by asking the provider.

A scheduled run looks at credit orders still ``created`` or ``failed`` and at seed-004 payments,
whose ``reconcile_from`` instant is older than the reconcile age, asks the provider where each
stands, and applies what it says through the same transitions a webhook uses: a paid order is
granted by ``grant_purchase_credits`` (exactly once, by its effect key), a failed one is marked
failed, a payment's status moves forward only. The provider's word is the evidence: an
unreachable provider changes nothing, and the item is looked at again next run.

Fair and bounded: an inconclusive look pushes ``reconcile_from`` forward (doubling, capped), so
abandoned checkouts do not starve newer ones under the per-run limit; after ``give_up_after``
an item leaves the queue for good.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.errors import ProviderError, ProviderRejected
from shared.ledger.store import LedgerStore
from shared.log import get_logger
from shared.payments.card_payments import record_intent
from shared.payments.providers import (
    CheckoutGateway,
    PaymentGateway,
    ProviderPayment,
    ProviderPaymentStatus,
)
from shared.payments.records import GatewayIntent, PaymentStatus, PaymentStore
from shared.purchases.checkout import RAZORPAY, STRIPE, payment_mismatches
from shared.purchases.crediting import flag_order, grant_purchase_credits
from shared.purchases.crediting import mark_failed as mark_order_failed
from shared.purchases.orders import CreditOrder, OrderStatus, OrderStore
from shared.purchases.second_payments import is_second_payment, record_second_payment
from shared.purchases.tax_documents import TaxDocuments

log = get_logger("reconciliation")

ORDER = "order"
PAYMENT = "payment"


class Action(StrEnum):
    GRANT = "grant"  # a captured payment matches the order
    CAPTURE = "capture"  # an authorized payment matches: capture it (as verify does), then grant
    FAIL = "fail"  # every attempt failed: mark the order failed (a later capture still grants)
    FLAG = "flag"  # money arrived that does not match the order: flag it for a person
    WAIT = "wait"  # nothing conclusive yet


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    payment: ProviderPayment | None = None
    problems: dict[str, object] = field(default_factory=dict)


def decide(order: CreditOrder, payments: Sequence[ProviderPayment]) -> Decision:
    """Decide what an order's provider payments mean for it (pure)."""
    if order.status is OrderStatus.PAID:
        return Decision(Action.WAIT)
    for wanted, action in (
        (ProviderPaymentStatus.CAPTURED, Action.GRANT),
        (ProviderPaymentStatus.AUTHORIZED, Action.CAPTURE),
    ):
        candidates = [p for p in payments if p.status == wanted]
        for payment in candidates:
            if not payment_mismatches(order, payment, order.provider_order_id):
                return Decision(action, payment)
        if candidates:
            problems = payment_mismatches(order, candidates[0], order.provider_order_id)
            return Decision(Action.FLAG, candidates[0], problems)
    all_failed = bool(payments) and all(p.status is ProviderPaymentStatus.FAILED for p in payments)
    if all_failed and order.status is OrderStatus.CREATED:
        return Decision(Action.FAIL, payments[-1])
    return Decision(Action.WAIT)


def payment_of_intent(intent: GatewayIntent, provider_order_id: str) -> ProviderPayment:
    """A Stripe credit order's PaymentIntent in the words ``decide`` reads."""
    # Automatic capture: requires_capture never happens here.
    status = {
        PaymentStatus.SUCCEEDED: ProviderPaymentStatus.CAPTURED,
        PaymentStatus.FAILED: ProviderPaymentStatus.FAILED,
        PaymentStatus.CANCELED: ProviderPaymentStatus.FAILED,
    }.get(intent.status, ProviderPaymentStatus.CREATED)
    amount = intent.amount_received or intent.amount
    return ProviderPayment(intent.id, provider_order_id, amount, intent.currency, status)


@dataclass(frozen=True, slots=True)
class Due:
    """An item whose reconcile age has passed."""

    kind: str  # ORDER or PAYMENT
    id: str
    created_at: datetime
    checks: int = 0


class ReconcileQueue(ABC):
    """Port: which orders and payments are due for a look, and when to look again."""

    @abstractmethod
    def due(self, kind: str, before: datetime, limit: int) -> list[Due]:
        """Items of ``kind`` whose ``reconcile_from`` is at or before ``before``, oldest first."""

    @abstractmethod
    def postpone(self, item: Due, until: datetime) -> None:
        """Count a look at ``item`` and start its age again at ``until``."""

    @abstractmethod
    def settle(self, item: Due, outcome: str) -> None:
        """Take ``item`` out of the queue for good."""


@dataclass(frozen=True, slots=True)
class ReconcilePolicy:
    older_than: timedelta
    limit: int
    give_up_after: timedelta
    backoff_cap: timedelta


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    id: str
    outcome: str


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    outcomes: list[Outcome]


@dataclass
class Reconciler:
    ledger: LedgerStore
    orders: OrderStore
    payments: PaymentStore
    queue: ReconcileQueue
    razorpay: Callable[[], CheckoutGateway]
    stripe: Callable[[], PaymentGateway]
    clock: Callable[[], datetime]
    documents: TaxDocuments | None = None  # tax invoices and credit notes

    def run(self, policy: ReconcilePolicy) -> ReconcileReport:
        """Look at every due order, then every due payment, up to ``policy.limit`` each."""
        before = self.clock() - policy.older_than
        outcomes = []
        for kind, look in ((ORDER, self._order), (PAYMENT, self._payment)):
            for item in self.queue.due(kind, before, policy.limit):
                outcome = Outcome(kind, item.id, self._settle(item, look, policy))
                log.info("reconciliation item", extra={"kind": kind, "outcome": outcome.outcome})
                outcomes.append(outcome)
        return ReconcileReport(outcomes)

    def _settle(self, item: Due, look: Callable[[Due], str | None], policy: ReconcilePolicy) -> str:
        # Checked before asking: an item past the give-up age costs no provider call, ever.
        if self.clock() - item.created_at >= policy.give_up_after:
            self.queue.settle(item, "gave_up")
            return "gave_up"
        try:
            outcome = look(item)
        except ProviderRejected as error:
            # A conclusive no (the provider does not know it): wait like an open checkout, so
            # a pile of such items cannot hold the head of the queue on every run.
            log.warning("provider refused", extra={"item": item.id, "error": error.message})
            self._postpone(item, policy)
            return "refused"
        except ProviderError as error:
            # No evidence either way: keep the item due, so the next run asks again.
            log.warning("provider unavailable", extra={"item": item.id, "error": error.message})
            return "provider_error"
        if outcome is not None:
            self.queue.settle(item, outcome)
            return outcome
        self._postpone(item, policy)
        return "pending"

    def _postpone(self, item: Due, policy: ReconcilePolicy) -> None:
        """Make ``item`` due again after a pause doubling per look: 1, 2, 4 ... ages, capped."""
        pause = min(policy.older_than * (2**item.checks), policy.backoff_cap)
        self.queue.postpone(item, self.clock() + pause - policy.older_than)

    def _order(self, item: Due) -> str | None:
        """Apply what the provider says about one order; None while it is inconclusive."""
        order = self.orders.get(item.id)
        if order is None or order.status is OrderStatus.PAID:
            return "already_paid" if order else "missing"
        payments = self._provider_payments(order)
        decision = decide(order, payments)
        payment = decision.payment
        if decision.action is Action.CAPTURE and payment is not None:
            payment = self.razorpay().capture_payment(payment.id, order.total, order.currency)
            if payment.status is not ProviderPaymentStatus.CAPTURED:
                return None
        if decision.action in (Action.GRANT, Action.CAPTURE) and payment is not None:
            result = grant_purchase_credits(
                self.ledger,
                order,
                order.provider,
                payment.id,
                now=self.clock(),
                documents=self.documents,
            )
            self._second_payments(order, payments)
            return "already_granted" if result.replayed else "granted"
        if decision.action is Action.FLAG and payment is not None:
            details = {"payment_id": payment.id, "problems": decision.problems, "at": self.clock()}
            flag_order(self.orders, order.id, "payment_mismatch", details)
            return "flagged"
        if decision.action is Action.FAIL and payment is not None:
            failure = {"payment_id": payment.id, "source": "reconciliation", "at": self.clock()}
            mark_order_failed(self.orders, order, failure)
            return None  # failed is not final: a later capture still grants
        return None

    def _second_payments(self, order: CreditOrder, payments: list[ProviderPayment]) -> None:
        """Record the order's other captured payments: money owed back (both webhooks lost)."""
        paid = self.orders.get(order.id) or order
        for other in payments:
            captured = other.status is ProviderPaymentStatus.CAPTURED
            matches = not payment_mismatches(paid, other, paid.provider_order_id)
            if captured and matches and is_second_payment(paid, other.id):
                record_second_payment(self.orders, paid, other, self.clock())

    def _provider_payments(self, order: CreditOrder) -> list[ProviderPayment]:
        if order.provider == RAZORPAY:
            return self.razorpay().order_payments(order.provider_order_id)
        if order.provider == STRIPE:
            intent = self.stripe().retrieve_intent(order.provider_order_id)
            return [payment_of_intent(intent, order.provider_order_id)]
        return []

    def _payment(self, item: Due) -> str | None:
        """Bring one seed-004 payment forward to what Stripe says (forward only)."""
        payment = self.payments.payment(item.id)
        if payment is None:
            return "missing"
        if not payment.status.is_final:
            record_intent(self.payments, self.stripe().retrieve_intent(item.id))
            payment = self.payments.payment(item.id) or payment
        return payment.status.value if payment.status.is_final else None
