"""Cloud Functions entry points: re-exports only, so importing builds no client and calls nothing.

Each name here is a deployed function's ``--entry-point``; see ``functions/registry.py``.
"""

from functions.credits import credits_balance
from functions.health import health, health_live, health_ready, health_root
from functions.openapi import openapi
from functions.payments_stripe import (
    stripe_payment_get,
    stripe_payment_process,
    stripe_payment_verify,
)
from functions.refunds import stripe_refund_get, stripe_refund_process, stripe_refund_verify
from functions.stripe_webhooks import stripe_webhook
from functions.triggers_outbox import deliver_outbox

__all__ = [
    "credits_balance",
    "deliver_outbox",
    "health",
    "health_live",
    "health_ready",
    "health_root",
    "openapi",
    "stripe_payment_get",
    "stripe_payment_process",
    "stripe_payment_verify",
    "stripe_refund_get",
    "stripe_refund_process",
    "stripe_refund_verify",
    "stripe_webhook",
]
