"""Cloud Functions entry points: re-exports only, so importing builds no client and calls nothing.

Each name here is a deployed function's ``--entry-point``; see ``functions/registry.py``.
"""

from functions.admin import admin_credits_adjust, admin_credits_grant
from functions.credits import (
    credits_account,
    credits_balance,
    credits_orders,
    credits_packages,
    credits_purchase,
)
from functions.health import health, health_live, health_ready, health_root
from functions.openapi import openapi
from functions.payments import payments_status, payments_verify
from functions.transactions import transactions_list, transactions_usage
from functions.webhooks import webhooks_razorpay

__all__ = [
    "admin_credits_adjust",
    "admin_credits_grant",
    "credits_account",
    "credits_balance",
    "credits_orders",
    "credits_packages",
    "credits_purchase",
    "health",
    "health_live",
    "health_ready",
    "health_root",
    "openapi",
    "payments_status",
    "payments_verify",
    "transactions_list",
    "transactions_usage",
    "webhooks_razorpay",
]
