"""Cloud Functions entry points: re-exports only, so importing builds no client and calls nothing.

Each name here is a deployed function's ``--entry-point``; see ``functions/registry.py``.
"""

from functions.credits import credits_balance
from functions.devices import devices_register
from functions.health import health, health_live, health_ready, health_root
from functions.holds import holds_capture, holds_expire, holds_place, holds_release
from functions.openapi import openapi
from functions.triggers import ledger_entry_low_balance_alert, ledger_entry_projection
from functions.usage import usage_batch, usage_record

__all__ = [
    "credits_balance",
    "devices_register",
    "health",
    "health_live",
    "health_ready",
    "health_root",
    "holds_capture",
    "holds_expire",
    "holds_place",
    "holds_release",
    "ledger_entry_low_balance_alert",
    "ledger_entry_projection",
    "openapi",
    "usage_batch",
    "usage_record",
]
