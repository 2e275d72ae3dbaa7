"""Credit purchases (seed 000, and Stripe for other currencies): start one, list orders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from functions.http import Call, Reply, endpoint
from functions.params import ListQuery
from shared.purchases import PurchaseRequest


class PurchaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    amount: StrictInt | None = None
    currency: StrictStr | None = Field(default=None, min_length=3, max_length=3)
    provider: Literal["razorpay", "stripe"] | None = None


@endpoint(body=PurchaseBody)
def credits_purchase(call: Call) -> Reply:
    body = call.body(PurchaseBody)
    request = PurchaseRequest(body.package_id, body.amount, body.currency, body.provider)
    checkout = call.services.purchases.start(call.user.uid, request, call.request_key)
    return Reply(checkout.to_json(), 201)


@endpoint(query=ListQuery)
def credits_orders(call: Call) -> Reply:
    query = call.query(ListQuery)
    page = call.services.purchases.orders_of(call.user.uid, query.limit, query.cursor)
    return Reply({"data": [o.to_json() for o in page.orders], "next_cursor": page.next_cursor})
