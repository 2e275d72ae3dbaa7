"""Stripe as a way to pay for credit orders: an unconfirmed PaymentIntent per order.

The client confirms it with Stripe.js using the returned client secret; the signed
``payment_intent.succeeded`` webhook then grants the credits through the one grant path
(``shared.purchases.crediting.grant_purchase_credits``), exactly once.
An admin refunds one through Stripe's
refunds of its PaymentIntent (``shared.purchases.refunds``).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.payments.providers import (
    FINAL_REFUND_FAILURES,
    GatewayRefund,
    OrderRefundGateway,
    ProviderOrder,
    ProviderRefund,
)
from shared.payments.records import CREDIT_ORDER_METADATA_KEY
from shared.payments.refunds import RefundGateway


class StripeCreditCheckout(OrderRefundGateway):
    name = "stripe"

    def __init__(self, stripe: RefundGateway, publishable_key: str) -> None:
        self._stripe = stripe
        self.key_id = publishable_key

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        intent = self._stripe.create_credit_intent(
            amount,
            currency,
            {**notes, CREDIT_ORDER_METADATA_KEY: order_id},  # for people: we find orders by intent
            idempotency_key=f"credit-order-{order_id}",  # a retried purchase reuses the intent
        )
        return ProviderOrder(
            intent.id, intent.amount, intent.currency, order_id, client_secret=intent.client_secret
        )

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        return [_provider_refund(r) for r in self._stripe.refunds_of(provider_order_id)]

    def refund_payment(
        self, payment_id: str, amount: int, notes: Mapping[str, str], idempotency_key: str
    ) -> ProviderRefund:
        # A credit order's payment is its PaymentIntent; Stripe's Idempotency-Key makes a retry
        # whose answer was lost get the same refund back.
        refund = self._stripe.create_refund(payment_id, amount, notes, idempotency_key)
        return _provider_refund(refund)


def _provider_refund(refund: GatewayRefund) -> ProviderRefund:
    return ProviderRefund(
        refund.id,
        refund.amount,
        refund.created,
        refund.status not in FINAL_REFUND_FAILURES,  # requires_action may still send it
        refund.status,
        refund.metadata,
    )
