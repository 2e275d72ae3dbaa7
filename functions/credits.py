"""Credit account endpoints (seed 000): balance, and the account with its lifetime totals.

Packages and purchases live in their own modules, so a balance read's cold start never loads
the purchase domain.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictInt

from functions.http import Call, Reply, endpoint
from shared.accounts import read_account, read_balance, update_low_balance_threshold


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low_balance_threshold: StrictInt


@endpoint
def credits_balance(call: Call) -> Reply:
    return Reply(read_balance(call.services.accounts, call.user.uid).to_json())


@endpoint(body=AccountPatch)
def credits_account(call: Call) -> Reply:
    accounts = call.services.accounts
    if call.request.method == "PATCH":
        patch = call.body(AccountPatch)
        account = update_low_balance_threshold(accounts, call.user.uid, patch.low_balance_threshold)
    else:
        account = read_account(accounts, call.user.uid)
    return Reply(account.to_json())
