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
from functions.payments_stripe import (
    stripe_payment_get,
    stripe_payment_process,
    stripe_payment_verify,
)
from functions.refunds import stripe_refund_get, stripe_refund_process, stripe_refund_verify
from functions.stripe_webhooks import stripe_webhook
from functions.transactions import transactions_list, transactions_usage
from functions.triggers_outbox import deliver_outbox
from functions.webhooks import webhooks_razorpay

__all__ = [
    "admin_credits_adjust",
    "admin_credits_grant",
    "credits_account",
    "credits_balance",
    "credits_orders",
    "credits_packages",
    "credits_purchase",
    "deliver_outbox",
    "health",
    "health_live",
    "health_ready",
    "health_root",
    "openapi",
    "payments_status",
    "payments_verify",
    "stripe_payment_get",
    "stripe_payment_process",
    "stripe_payment_verify",
    "stripe_refund_get",
    "stripe_refund_process",
    "stripe_refund_verify",
    "stripe_webhook",
    "transactions_list",
    "transactions_usage",
    "webhooks_razorpay",
]
