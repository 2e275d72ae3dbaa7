"""Stripe as a way to pay for credit orders: an unconfirmed PaymentIntent per order.

The client confirms it with Stripe.js using the returned client secret; the signed
``payment_intent.succeeded`` webhook then grants the credits through the one grant path
(``shared.orders.grant_purchase_credits``), exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.payments import CREDIT_ORDER_METADATA_KEY
from shared.providers import ProviderOrder, ProviderRefund, RefundListingGateway
from shared.refunds import RefundGateway, RefundStatus

# A refund in these states is sending the money back (a failed or canceled one is not).
RETURNING_MONEY = frozenset({RefundStatus.PENDING, RefundStatus.SUCCEEDED})


class StripeCreditCheckout(RefundListingGateway):
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
        return [
            ProviderRefund(
                r.id, r.amount, r.created, r.status in RETURNING_MONEY, r.status, r.metadata
            )
            for r in self._stripe.refunds_of(provider_order_id)
        ]
