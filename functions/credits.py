"""Credit account endpoints (seed 000): balance, and the account with its lifetime totals.

Packages and purchases live in their own modules, so a balance read's cold start never loads
the purchase domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from typing_extensions import TypedDict

from functions.grant_json import OpenGrantJson, open_grant_json
from functions.http import Call, Reply, endpoint
from shared.accounts.credit_accounts import (
    MAX_LOW_BALANCE_THRESHOLD,
    Account,
    Balance,
    read_account,
    read_balance,
    update_low_balance_threshold,
)
from shared.ledger.entries import EntryType


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounds stated for clients; the domain enforces them.
    low_balance_threshold: StrictInt = Field(
        json_schema_extra={"minimum": 0, "maximum": MAX_LOW_BALANCE_THRESHOLD},
        description="Credit units",
    )


class BalanceJson(TypedDict):
    user_id: str
    balance: int
    held: int
    available: int
    low_balance_threshold: int
    updated_at: datetime | None


class AccountJson(BalanceJson):
    total_purchased: int
    total_bonus: int
    total_granted: int
    total_used: int
    total_refunded: int
    total_adjusted: int
    total_expired: int
    total_voided: int
    grants: list[OpenGrantJson]  # open grants, in the order they are spent
    next_expiry: datetime | None
    settings: dict[str, Any]


def balance_json(balance: Balance) -> BalanceJson:
    return {
        "user_id": balance.user_id,
        "balance": balance.balance,
        "held": balance.held,
        "available": balance.available,
        "low_balance_threshold": balance.low_balance_threshold,
        "updated_at": balance.updated_at,
    }


def account_json(account: Account) -> AccountJson:
    def total(*types: EntryType) -> int:
        return sum(account.totals.get(t, 0) for t in types)

    return {
        **balance_json(account.balance),
        "total_purchased": total(EntryType.PURCHASE),
        "total_bonus": total(EntryType.BONUS),
        "total_granted": total(EntryType.GRANT),
        "total_used": -total(EntryType.USAGE, EntryType.HOLD_CAPTURE),
        "total_refunded": -total(EntryType.REFUND, EntryType.REFUND_REVERSAL),
        "total_adjusted": total(EntryType.ADJUSTMENT),
        "total_expired": -total(EntryType.EXPIRY),
        "total_voided": total(EntryType.VOID),
        "grants": [open_grant_json(g) for g in account.grants],
        "next_expiry": account.next_expiry,
        "settings": {
            "low_balance_threshold": account.balance.low_balance_threshold,
            **dict(account.settings),
        },
    }


@endpoint(response=BalanceJson)
def credits_balance(call: Call) -> Reply:
    services = call.services
    balance = read_balance(services.accounts, call.user.uid, welcome=services.welcome)
    return Reply(balance_json(balance))


@endpoint(body=AccountPatch, response=AccountJson)
def credits_account(call: Call) -> Reply:
    accounts = call.services.accounts
    if call.request.method == "PATCH":
        patch = call.body(AccountPatch)
        account = update_low_balance_threshold(accounts, call.user.uid, patch.low_balance_threshold)
    else:
        account = read_account(accounts, call.user.uid, welcome=call.services.welcome)
    return Reply(account_json(account))
