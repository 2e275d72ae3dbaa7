"""Credits endpoints (seed 000): balance, account, packages, purchase, orders."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint
from shared.accounts import read_balance


@endpoint
def credits_balance(call: Call) -> Reply:
    return Reply(read_balance(call.services.ledger, call.user.uid).to_json())
