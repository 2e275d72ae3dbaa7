"""Cloud Functions entry points: re-exports only, so importing builds no client and calls nothing.

Each name here is a deployed function's ``--entry-point``; see ``functions/registry.py``.
"""

from functions.credits import credits_balance
from functions.health import health, health_live, health_ready, health_root
from functions.openapi import openapi

__all__ = [
    "credits_balance",
    "health",
    "health_live",
    "health_ready",
    "health_root",
    "openapi",
]
