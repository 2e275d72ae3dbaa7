"""Credit purchases (seed 000, and Stripe for other currencies): start one, list orders."""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from functions.params import ListQuery
from functions.wire import OrderJson, OrderTerms, order_json, terms_json
from shared.purchases.checkout import Checkout, PurchaseRequest
from shared.purchases.orders import OrderStatus
from shared.purchases.pricing import MAX_PURCHASE_PAISE, MIN_PURCHASE_PAISE


class PurchaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    amount: StrictInt | None = Field(
        default=None,
        description=f"Minor units before tax: in INR from {MIN_PURCHASE_PAISE} to "
        f"{MAX_PURCHASE_PAISE} paise; in another currency its equivalent, priced by the service.",
    )
    currency: StrictStr | None = Field(default=None, min_length=3, max_length=3)
    provider: Literal["razorpay", "stripe"] | None = None


class CheckoutJson(OrderTerms):
    """A new credit order plus what Checkout needs: ``key_id``, and Stripe's ``client_secret``."""

    order_id: str
    status: OrderStatus
    key_id: str
    client_secret: NotRequired[str]


class OrderPage(TypedDict):
    data: list[OrderJson]
    next_cursor: str | None


def checkout_json(checkout: Checkout) -> CheckoutJson:
    order = checkout.order
    # mypy wants every optional key spelled out beside a ** item; client_secret is added below.
    answer: CheckoutJson = {
        "order_id": order.id,
        **terms_json(order),  # type: ignore[typeddict-item]
        "status": order.status,
        "key_id": checkout.key_id,
    }
    if checkout.client_secret:
        answer["client_secret"] = checkout.client_secret
    return answer


@endpoint(body=PurchaseBody, response=CheckoutJson)
def credits_purchase(call: Call) -> Reply:
    body = call.body(PurchaseBody)
    request = PurchaseRequest(body.package_id, body.amount, body.currency, body.provider)
    checkout = call.services.purchases.start(call.user.uid, request, call.request_key)
    return Reply(checkout_json(checkout), 201)


@endpoint(query=ListQuery, response=OrderPage)
def credits_orders(call: Call) -> Reply:
    query = call.query(ListQuery)
    page = call.services.orders.list_for_user(call.user.uid, query.limit, query.cursor)
    orders: OrderPage = {
        "data": [order_json(o) for o in page.orders],
        "next_cursor": page.next_cursor,
    }
    return Reply(orders)
