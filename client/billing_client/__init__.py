"""Client for services that spend users' credits on the billing service."""

from billing_client.batcher import UsageBatcher
from billing_client.budget import Budget, BudgetExceeded
from billing_client.client import BillingClient, Charge, Hold, UsageEvent
from billing_client.errors import (
    BillingError,
    CardDeclined,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ProviderError,
    QueueFull,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from billing_client.identity import GoogleIdentity, TokenProvider
from billing_client.invoices import InvoiceReader

__all__ = [
    "BillingClient",
    "BillingError",
    "Budget",
    "BudgetExceeded",
    "CardDeclined",
    "Charge",
    "Conflict",
    "Forbidden",
    "GoogleIdentity",
    "Hold",
    "IdempotencyKeyReused",
    "InsufficientCredits",
    "InvalidRequest",
    "InvoiceReader",
    "MethodNotAllowed",
    "NotFound",
    "ProviderError",
    "QueueFull",
    "RateLimited",
    "TokenProvider",
    "Unauthenticated",
    "Unavailable",
    "UsageBatcher",
    "UsageEvent",
]
