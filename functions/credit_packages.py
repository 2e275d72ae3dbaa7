"""The credit package catalogue (seed 000), priced with tax and bonus."""

from __future__ import annotations

from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.purchases.packages import CreditPackage, packages_on_sale


class PackageJson(TypedDict):
    id: str
    name: str
    amount: int
    currency: str
    tax: int
    total: int
    credits: int
    bonus_credits: int


class PackageList(TypedDict):
    data: list[PackageJson]


def package_json(package: CreditPackage) -> PackageJson:
    quote = package.quote
    return {
        "id": package.id,
        "name": package.name,
        "amount": quote.amount,
        "currency": quote.currency,
        "tax": quote.tax,
        "total": quote.total,
        "credits": quote.credits,
        "bonus_credits": quote.bonus_credits,
    }


@endpoint(response=PackageList)
def credits_packages(call: Call) -> Reply:
    packages: PackageList = {
        "data": [package_json(p) for p in packages_on_sale(call.services.packages)]
    }
    return Reply(packages)
