"""Port: the tax documents of a paid order and of its refunds (issued by ``shared.invoices``).

Purchases only says when one is due: ``grant_purchase_credits`` when an order is paid (also on a
replay, so a document a crash left unissued is issued by the next path that pays the order), and
``claw_back_refund`` when a refund returning money is recorded. Issuing is idempotent per order
and per refund.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from shared.purchases.orders import CreditOrder


class TaxDocuments(ABC):
    @abstractmethod
    def order_paid(self, order: CreditOrder, provider_payment_id: str, paid_at: datetime) -> None:
        """Issue the order's tax invoice, unless it has one."""

    @abstractmethod
    def refund_recorded(
        self, order: CreditOrder, refund_id: str, amount: int, refunded_before: int
    ) -> None:
        """Issue the credit note of a refund returning ``amount``, unless it has one."""
