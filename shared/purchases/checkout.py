"""Buying credits: start a purchase, verify the checkout (seed 000).

Reading orders needs no provider (``shared.purchases.orders.owned_order``),
so it is no use case here.

The server prices every purchase itself (``shared.purchases.pricing``)
and never trusts a client amount.
Credits are granted by ``shared.purchases.crediting.grant_purchase_credits`` only,
whoever comes first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.access.rate_limits import RateLimit, SlotCounter, enforce_rate_limit
from shared.errors import Conflict, NotFound, Unavailable, invalid_field
from shared.ledger.store import LedgerStore
from shared.payments.providers import (
    CheckoutGateway,
    CheckoutRefundGateway,
    OrderRefundGateway,
    ProviderPayment,
    ProviderPaymentStatus,
    ProviderRefund,
)
from shared.payments.records import GatewayIntent, PaymentStatus
from shared.purchases.crediting import (
    GrantResult,
    claw_back_chargeback,
    claw_back_refund,
    flag_order,
    grant_purchase_credits,
    reclaim_refund,
    record_dispute,
    restore_refund_clawback,
)
from shared.purchases.orders import CreditOrder, OrderStatus, OrderStore, paying_refunds
from shared.purchases.packages import PackageCatalog, find_package
from shared.purchases.pricing import PRICING_CURRENCY, Quote, quote_foreign_purchase, quote_purchase
from shared.purchases.second_payments import is_second_payment, record_second_payment
from shared.purchases.tax_documents import TaxDocuments

RAZORPAY = "razorpay"
STRIPE = "stripe"


def order_id_for(request_key: str) -> str:
    """The order id of a keyed purchase request: the same for every retry of it."""
    return f"ord_{hashlib.sha256(request_key.encode()).hexdigest()[:32]}"


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    package_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """A created order plus what the client's Checkout needs to take the payment."""

    order: CreditOrder
    key_id: str
    client_secret: str | None = None


def payment_mismatches(
    order: CreditOrder, payment: ProviderPayment, provider_order_id: str
) -> dict[str, Any]:
    """Return how a provider's payment disagrees with our order (empty when it matches)."""
    problems: dict[str, Any] = {}
    if payment.order_id != provider_order_id:
        problems["order_id"] = {"expected": provider_order_id, "got": payment.order_id}
    if payment.amount != order.total:
        problems["amount"] = {"expected": order.total, "got": payment.amount}
    if payment.currency != order.currency:
        problems["currency"] = {"expected": order.currency, "got": payment.currency}
    return problems


@dataclass
class CreditPurchases:
    ledger: LedgerStore
    orders: OrderStore
    packages: PackageCatalog
    # Each provider's gateway, built on first use; None where this side is not wired (a function
    # that verifies Razorpay payments is deployed with Razorpay's secrets only).
    razorpay: Callable[[], CheckoutRefundGateway] | None
    stripe: Callable[[], OrderRefundGateway] | None
    slots: SlotCounter
    purchase_limit: RateLimit
    verify_limit: RateLimit
    clock: Callable[[], datetime]
    new_order_id: Callable[[], str]
    # Credit units per one major unit of another currency (e.g. usd: 8325 for ₹83.25/$1).
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)
    bonus_expiry_days: int | None = None  # how long package bonuses last (None: forever)
    documents: TaxDocuments | None = None  # tax invoices and credit notes

    def start(
        self, user_id: str, request: PurchaseRequest, request_key: str | None = None
    ) -> Checkout:
        """Price the purchase, create the provider's order and store ours (status created).

        With the caller's ``request_key`` (its scoped ``Idempotency-Key``) the order id is
        derived from it, so a retry whose first answer was lost makes no second order: the
        provider finds the order it made for that id (Razorpay's unique receipt, Stripe's
        idempotency key) and our create finds ours.
        """
        if (request.package_id is None) == (request.amount is None):
            raise invalid_field("package_id", "give exactly one of package_id or amount")
        quote = self._quote(request)
        # INR goes through Razorpay unless Stripe is asked for; other currencies through Stripe.
        provider = request.provider or (RAZORPAY if quote.currency == PRICING_CURRENCY else STRIPE)
        if provider not in self.providers:
            raise invalid_field("provider", f"must be one of: {', '.join(self.providers)}")
        if provider == RAZORPAY and quote.currency != PRICING_CURRENCY:
            raise invalid_field("provider", "razorpay sells credits in inr only; use stripe")
        enforce_rate_limit(self.slots, self.purchase_limit, user_id, self.clock())
        gateway = self.gateway(provider)
        order_id = order_id_for(request_key) if request_key else self.new_order_id()
        provider_order = gateway.create_order(
            order_id, quote.total, quote.currency, {"order_id": order_id, "user_id": user_id}
        )
        order = CreditOrder.from_quote(
            order_id,
            user_id,
            quote,
            provider=provider,
            provider_order_id=provider_order.id,
            created_at=self.clock(),
            package_id=request.package_id,
            bonus_expiry_days=self.bonus_expiry_days,
        )
        if not self.orders.create(order):
            # A retry: the lost first attempt stored the order. Its payment must be the one the
            # provider just found; a provider that forgot the key (Stripe, after a day) made a
            # new one, which no order stores and whose payment would grant nothing.
            stored = self.orders.get(order_id)
            if stored is None or stored.provider_order_id != provider_order.id:
                raise Conflict("this Idempotency-Key started another purchase; send a new key")
            order = stored
        return Checkout(order, gateway.key_id, provider_order.client_secret)

    def _quote(self, request: PurchaseRequest) -> Quote:
        if request.package_id is not None:
            return find_package(self.packages, request.package_id).quote
        currency = (request.currency or "").lower()
        if currency == PRICING_CURRENCY:
            return quote_purchase(request.amount or 0)
        if currency not in self.fx_rates:
            sold_in = ", ".join(sorted({PRICING_CURRENCY, *self.fx_rates}))
            raise invalid_field("currency", f"credits are sold in: {sold_in}")
        return quote_foreign_purchase(request.amount or 0, currency, self.fx_rates[currency])

    @property
    def providers(self) -> list[str]:
        """The providers wired on this side of purchases."""
        wired = ((RAZORPAY, self.razorpay), (STRIPE, self.stripe))
        return [provider for provider, gateway in wired if gateway is not None]

    def gateway(self, provider: str) -> OrderRefundGateway:
        """The provider's gateway, built on first use (a provider not wired here is a bug)."""
        if provider == RAZORPAY:
            return self._razorpay()
        if provider == STRIPE and self.stripe is not None:
            return self.stripe()
        raise LookupError(f"{provider} is not wired on this side of purchases")

    def _razorpay(self) -> CheckoutRefundGateway:
        if self.razorpay is None:
            raise LookupError("razorpay is not wired on this side of purchases")
        return self.razorpay()

    def verify_razorpay(
        self, user_id: str, provider_order_id: str, payment_id: str, signature: str
    ) -> GrantResult:
        """Check Checkout's result and grant the order's credits (once, whoever comes first)."""
        enforce_rate_limit(self.slots, self.verify_limit, user_id, self.clock())
        gateway = self._razorpay()
        if not gateway.checkout_signature_valid(provider_order_id, payment_id, signature):
            raise invalid_field("razorpay_signature", "does not match the order and payment")
        order = self.orders.by_provider_order(RAZORPAY, provider_order_id)
        if order is None or order.user_id != user_id:
            raise NotFound("no such order")
        if order.status is OrderStatus.PAID and order.provider_payment_id:
            if is_second_payment(order, payment_id):
                self._second_payment(gateway, order, payment_id)
            return grant_purchase_credits(
                self.ledger,
                order,
                RAZORPAY,
                order.provider_payment_id,
                now=self.clock(),
                documents=self.documents,
            )
        payment = gateway.fetch_payment(payment_id)
        problems = payment_mismatches(order, payment, provider_order_id)
        if problems:
            flag_order(
                self.orders,
                order.id,
                "payment_mismatch",
                {"payment_id": payment.id, "problems": problems, "at": self.clock()},
            )
            raise Conflict("the payment does not match the order", {"problems": problems})
        if payment.status is ProviderPaymentStatus.AUTHORIZED:
            payment = gateway.capture_payment(payment.id, order.total, order.currency)
        if payment.status is not ProviderPaymentStatus.CAPTURED:
            raise Conflict(
                f"the payment is {payment.status}, not captured", {"status": payment.status}
            )
        return grant_purchase_credits(
            self.ledger, order, RAZORPAY, payment.id, now=self.clock(), documents=self.documents
        )

    def _second_payment(
        self, gateway: CheckoutGateway, order: CreditOrder, payment_id: str
    ) -> None:
        """Record a captured payment of an order another payment paid (Checkout in two tabs)."""
        payment = gateway.fetch_payment(payment_id)
        captured = payment.status is ProviderPaymentStatus.CAPTURED
        if captured and not payment_mismatches(order, payment, order.provider_order_id):
            record_second_payment(self.orders, order, payment, self.clock())

    def stripe_intent_event(self, intent: GatewayIntent, event_id: str) -> bool:
        """Apply a PaymentIntent event to the credit order it pays; False when it pays none.

        The order is the one that stored this PaymentIntent's id when it was created. Metadata
        proves nothing: any intent on the account (a card payment, one made in the Dashboard)
        may name any order, and must never pay it.
        """
        order = self.orders.by_provider_order(STRIPE, intent.id)
        if order is None:
            return False
        if intent.status is PaymentStatus.SUCCEEDED:
            paid = ProviderPayment(
                intent.id,
                intent.id,  # a Stripe credit order's provider order is its PaymentIntent
                intent.amount_received or intent.amount,
                intent.currency.lower(),
                ProviderPaymentStatus.CAPTURED,
            )
            self.credit_order_paid(order, paid, event_id=event_id)
        return True

    def stripe_dispute_event(
        self, intent_id: str, dispute: Mapping[str, Any], event_type: str
    ) -> bool:
        """Record a Stripe dispute on the credit order its intent pays; False when none."""
        order = self.orders.by_provider_order(STRIPE, intent_id)
        if order is None:
            return False
        details = {
            "status": dispute.get("status"),
            "amount": dispute.get("amount"),
            "reason": dispute.get("reason"),
            "payment_intent_id": intent_id,
        }
        dispute_id = str(dispute.get("id"))
        record_dispute(self.orders, order.id, dispute_id, event_type, details)
        if event_type == "charge.dispute.closed" and dispute.get("status") == "lost":
            amount = dispute.get("amount")
            self._chargeback(order, dispute_id, amount if isinstance(amount, int) else order.total)
        return True

    def _chargeback(self, order: CreditOrder, dispute_id: str, amount: int) -> None:
        """Take back the credits of a lost Stripe dispute (policy: ``claw_back_chargeback``)."""
        if order.paid_at is None:  # the intent's success is not applied yet: Stripe retries
            raise Unavailable(
                "the order's payment is not granted yet", {"order_id": order.id, "retryable": True}
            )
        claw_back_chargeback(
            self.ledger, self.orders, order, dispute_id=dispute_id, amount=amount,
            provider=STRIPE, now=self.clock(),
        )  # fmt: skip

    def credit_order_paid(
        self, order: CreditOrder, payment: ProviderPayment, *, event_id: str | None = None
    ) -> GrantResult | None:
        """Grant an order a provider reports paid by ``payment``, with the checks of verify.

        The payment must belong to the order's own provider order and be for its total and
        currency; otherwise nothing is granted and the order is flagged.
        """
        problems = payment_mismatches(order, payment, order.provider_order_id)
        if problems:
            details = {"payment_id": payment.id, "problems": problems, "at": self.clock()}
            flag_order(self.orders, order.id, "payment_mismatch", details)
            return None
        return grant_purchase_credits(
            self.ledger,
            order,
            order.provider,
            payment.id,
            now=self.clock(),
            event_id=event_id,
            documents=self.documents,
        )

    def claw_back_provider_refunds(self, provider: str, provider_order_id: str) -> int:
        """Take back the credits of every refund the provider reports for an order's payment.

        Each refund is settled at most once (its own effect key), on the money refunded before
        it: the refunds the order already settled, then the new ones in the order they were
        made. Any number of events, in any order, for refunds made anywhere (our API or the
        provider's dashboard) take back the same credits, and all refunds together exactly
        what was granted. A settled refund that then failed or was canceled for good gives its
        credits back, once; one listed returning money again after that takes them again.
        Returns how many refunds take credits back (already taken or now).
        """
        order = self.orders.by_provider_order(provider, provider_order_id)
        if order is None:
            return 0  # not a credit order
        if order.paid_at is None:
            # The payment's success event has not been applied yet; the provider redelivers
            # this one later, when there are credits to take back.
            raise Unavailable(
                "the order's payment is not granted yet", {"order_id": order.id, "retryable": True}
            )
        gateway = self.gateway(provider)
        listed = paying_refunds(order, gateway.refunds_of(provider_order_id))
        if self._claw_back(order, listed, provider):
            # A refund may fail between our listing and our commit (Stripe's even after reporting
            # success), and the failure's own event may have read the order before our clawback
            # landed: list again, so that no failure leaves its credits taken.
            listed = paying_refunds(order, gateway.refunds_of(provider_order_id))
            order = self.orders.get(order.id) or order
        for refund in listed:
            if refund.id not in order.refunds:
                continue
            if refund.undone:  # gives back the last clawback, unless it was given back
                restore_refund_clawback(
                    self.ledger,
                    self.orders,
                    order,
                    refund_id=refund.id,
                    status=str(refund.status or "failed"),
                    provider=provider,
                    now=self.clock(),
                )
            else:  # takes back again what a restore gave back, if one did
                reclaim_refund(
                    self.ledger,
                    self.orders,
                    order,
                    refund_id=refund.id,
                    refund_amount=refund.amount,
                    provider=provider,
                    now=self.clock(),
                )
        return sum(1 for r in listed if not r.undone)

    def _claw_back(self, order: CreditOrder, listed: list[ProviderRefund], provider: str) -> bool:
        """Take back the credits of the listed refunds not settled yet; True if any was new."""
        refunds = [r for r in listed if not r.undone]
        # Refunds already settled stay as they were, whatever the listing order: a new refund
        # counts the money of all of them as refunded before it (same-second refunds would
        # otherwise swap places and move a rounding credit).
        settled = {r.id for r in refunds if r.id in order.refunds}
        refunded_before = sum(r.amount for r in refunds if r.id in settled)
        taken = False
        for refund in sorted(refunds, key=lambda r: (r.created, r.id)):
            if refund.id in settled:
                continue
            result = claw_back_refund(
                self.ledger,
                self.orders,
                order,
                refund_id=refund.id,
                refund_amount=refund.amount,
                refunded_before=refunded_before,
                provider=provider,
                now=self.clock(),
                documents=self.documents,
            )
            taken = taken or (result is not None and not result.replayed)
            refunded_before += refund.amount
        return taken
