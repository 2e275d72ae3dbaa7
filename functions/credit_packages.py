"""The credit package catalogue (seed 000), priced with tax and bonus."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint
from shared.packages import packages_on_sale


@endpoint
def credits_packages(call: Call) -> Reply:
    return Reply({"data": [p.to_json() for p in packages_on_sale(call.services.packages)]})
