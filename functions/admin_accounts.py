"""Admin reads (custom claim ``admin: true``): find an account, read its ledger, read an order.

What an admin sees before granting or adjusting credits (functions/admin.py): the same account and
ledger entries the user sees of their own, found by the user's email or uid.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from functions.credits import AccountJson, account_json
from functions.http import Call, Reply, endpoint
from functions.transactions import EntryPage, TransactionsQuery, entry_page
from functions.wire import OrderJson, order_json
from shared.accounts.credit_accounts import read_account
from shared.errors import NotFound, invalid_field
from shared.ids import DOCUMENT_ID_PATTERN

# Firebase Auth's own limit on an email address is 256 characters.
EMAIL_PATTERN = r"^[^@\s]{1,200}@[^@\s]{1,200}$"


class AccountQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: StrictStr | None = Field(default=None, max_length=256, pattern=EMAIL_PATTERN)
    user_id: StrictStr | None = Field(default=None, pattern=DOCUMENT_ID_PATTERN)


class AdminAccountJson(AccountJson):
    email: str | None


class AccountTransactionsQuery(TransactionsQuery):
    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)


@endpoint(query=AccountQuery, response=AdminAccountJson)
def admin_accounts(call: Call) -> Reply:
    query = call.query(AccountQuery)
    if (query.email is None) == (query.user_id is None):
        raise invalid_field("email", "give exactly one of email and user_id")
    user = call.services.user_directory.find(email=query.email, user_id=query.user_id)
    if user is None:
        raise NotFound("no user with this email or user_id")
    account = read_account(call.services.accounts, user.user_id)
    return Reply({**account_json(account), "email": user.email})


@endpoint(query=AccountTransactionsQuery, response=EntryPage)
def admin_transactions(call: Call) -> Reply:
    query = call.query(AccountTransactionsQuery)
    return Reply(entry_page(call.services.ledger, query.user_id, query))


@endpoint(response=OrderJson)
def admin_order(call: Call) -> Reply:
    """Any user's credit order as stored: refunds, disputes, chargebacks, second payments."""
    order_id = call.path_param("order_id")
    order = call.services.orders.get(order_id) if order_id else None
    if order is None:
        raise NotFound("no such order", {"order_id": order_id})
    return Reply(order_json(order))
