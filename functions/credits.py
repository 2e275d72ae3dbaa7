"""Credits endpoints (seed 000): balance, account, packages, purchase, orders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from functions.http import Call, Reply, endpoint
from functions.params import ListQuery
from shared.accounts import read_account, read_balance, update_low_balance_threshold
from shared.packages import packages_on_sale
from shared.purchases import PurchaseRequest


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low_balance_threshold: StrictInt


class PurchaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    amount: StrictInt | None = None
    currency: StrictStr | None = Field(default=None, min_length=3, max_length=3)
    provider: Literal["razorpay", "stripe"] | None = None


@endpoint
def credits_balance(call: Call) -> Reply:
    svc = call.services
    return Reply(read_balance(svc.accounts, call.user.uid).to_json())


@endpoint(body=AccountPatch)
def credits_account(call: Call) -> Reply:
    svc = call.services
    if call.request.method == "PATCH":
        patch = call.body(AccountPatch)
        account = update_low_balance_threshold(
            svc.accounts, call.user.uid, patch.low_balance_threshold
        )
    else:
        account = read_account(svc.accounts, call.user.uid)
    return Reply(account.to_json())


@endpoint
def credits_packages(call: Call) -> Reply:
    return Reply({"data": [p.to_json() for p in packages_on_sale(call.services.packages)]})


@endpoint(body=PurchaseBody)
def credits_purchase(call: Call) -> Reply:
    body = call.body(PurchaseBody)
    request = PurchaseRequest(body.package_id, body.amount, body.currency, body.provider)
    checkout = call.services.purchases.start(call.user.uid, request)
    return Reply(checkout.to_json(), 201)


@endpoint(query=ListQuery)
def credits_orders(call: Call) -> Reply:
    query = call.query(ListQuery)
    page = call.services.purchases.orders_of(call.user.uid, query.limit, query.cursor)
    return Reply({"data": [o.to_json() for o in page.orders], "next_cursor": page.next_cursor})
