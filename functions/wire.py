"""Wire shapes that more than one handler module answers with (a credit order).

Each answer's shape is a TypedDict, declared once: the handler builds its answer as one (mypy
checks it) and the OpenAPI document publishes it (``functions/openapi.py`` reads it with
pydantic, in that function only). Timestamps stay ``datetime`` here; ``functions/http.py`` writes
every one of them as RFC 3339.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from typing_extensions import TypedDict

from shared.purchases.orders import CreditOrder, OrderStatus, order_terms


class OrderTerms(TypedDict):
    """What the user pays and gets (``shared.purchases.orders.ORDER_TERMS``;
    a unit test keeps them equal)."""

    provider: str
    provider_order_id: str
    package_id: str | None
    amount: int
    tax: int
    total: int
    currency: str
    credits: int
    bonus_credits: int


class OrderJson(OrderTerms):
    order_id: str
    provider_payment_id: str | None
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    flags: dict[str, Any]
    refunds: dict[str, Any]
    disputes: dict[str, Any]
    second_payments: dict[str, Any]
    chargebacks: dict[str, Any]


def terms_json(order: CreditOrder) -> OrderTerms:
    return cast(OrderTerms, order_terms(order))


def order_json(order: CreditOrder) -> OrderJson:
    return {
        "order_id": order.id,
        **terms_json(order),
        "provider_payment_id": order.provider_payment_id,
        "status": order.status,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "flags": dict(order.flags),
        "refunds": dict(order.refunds),
        "disputes": dict(order.disputes),
        "second_payments": dict(order.second_payments),
        "chargebacks": dict(order.chargebacks),
    }
