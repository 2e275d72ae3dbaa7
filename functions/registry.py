"""The one registry of functions: name, kind, methods, public path, auth.

It is the single source of truth for the local gateway's routing, ``firebase.json`` hosting
rewrites (a test keeps them equal), the deploy command list, and the OpenAPI document.
Importing it is cheap: it is data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.access.auth import ServiceRole


@dataclass(frozen=True, slots=True)
class Runtime:
    """What one function's Cloud Run instances get (the SDK's RuntimeOptions, per function).

    Concurrency above 1 needs a whole CPU (the deploy refuses it otherwise); our handlers are
    I/O-bound on Firestore and providers, so one CPU serves many requests at once.
    """

    memory_mb: int = 512
    cpu: int = 1
    concurrency: int = 40
    timeout_sec: int = 60
    min_instances: int = 0
    max_instances: int = 20


DEFAULT_RUNTIME = Runtime()
# The expiry and reconcile passes page through every due account: minutes, not a request's 60 s.
BATCH_RUNTIME = Runtime(memory_mb=1024, concurrency=1, timeout_sec=540, max_instances=1)
# Metering sits on other services' request paths: one warm instance spares them cold starts.
HOT_PATH_RUNTIME = Runtime(min_instances=1, max_instances=50)


class Auth(StrEnum):
    NONE = "none"  # health
    USER = "user"  # Firebase ID token
    ADMIN = "admin"  # Firebase ID token with the custom claim admin: true
    SERVICE = "service"  # Google-signed OIDC token of an account on the role's allow-list
    WEBHOOK = "webhook"  # the provider's signature only


@dataclass(frozen=True, slots=True)
class HttpFunction:
    """One HTTPS Cloud Function serving one public path (all its methods)."""

    name: str
    module: str
    path: str  # may hold {params}; Firebase Hosting rewrites use a glob for them
    methods: tuple[str, ...]
    auth: Auth
    summary: str
    aliases: tuple[str, ...] = ()  # further public paths served by the same function
    role: ServiceRole | None = None  # Auth.SERVICE only: whose allow-list admits the caller
    # Auth.SERVICE only: deployed private, IAM invoker = exactly the role's accounts, so Cloud Run
    # checks the caller first and hands on the token with its signature removed (docs/deploy.md).
    iam_invoker: bool = True
    runtime: Runtime = DEFAULT_RUNTIME

    @property
    def behind_iam(self) -> bool:
        """An IAM invoker check stands in front: a signature-stripped service token is trusted."""
        return self.auth is Auth.SERVICE and self.iam_invoker

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)


@dataclass(frozen=True, slots=True)
class TriggerFunction:
    """A CloudEvent function on Firestore writes (deploy filters live here too)."""

    name: str
    module: str
    event_type: str
    document: str  # path pattern, e.g. credit_transactions/{entry_id}
    summary: str
    retry: bool = True
    runtime: Runtime = DEFAULT_RUNTIME


# One tuple per resource, so that each resource's functions are found (and changed) together.
HEALTH: tuple[HttpFunction, ...] = (
    HttpFunction(
        "health",
        "functions.health",
        "/api/v1/health",
        ("GET",),
        Auth.NONE,
        "Service health with its checks",
    ),
    HttpFunction(
        "health_ready",
        "functions.health",
        "/api/v1/health/ready",
        ("GET",),
        Auth.NONE,
        "Ready when Firestore answers",
    ),
    HttpFunction(
        "health_live",
        "functions.health",
        "/api/v1/health/live",
        ("GET",),
        Auth.NONE,
        "Alive while the process runs",
    ),
    HttpFunction(
        "health_root", "functions.health", "/health", ("GET",), Auth.NONE, "Seed 004 health check"
    ),
)

# Seed 000: credits, Razorpay purchases, transactions, admin.
CREDITS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "credits_balance",
        "functions.credits",
        "/api/v1/credits/balance",
        ("GET",),
        Auth.USER,
        "The caller's credit balance",
    ),
    HttpFunction(
        "credits_account",
        "functions.credits",
        "/api/v1/credits/account",
        ("GET", "PATCH"),
        Auth.USER,
        "The caller's account: balance, lifetime totals, settings; PATCH the threshold",
    ),
    HttpFunction(
        "credits_packages",
        "functions.credit_packages",
        "/api/v1/credits/packages",
        ("GET",),
        Auth.USER,
        "Credit packages on sale, priced with tax and bonus",
    ),
    HttpFunction(
        "credits_purchase",
        "functions.credit_purchases",
        "/api/v1/credits/purchase",
        ("POST",),
        Auth.USER,
        "Start a credit purchase: a package or an amount; returns what Checkout needs",
    ),
    HttpFunction(
        "credits_orders",
        "functions.credit_purchases",
        "/api/v1/credits/orders",
        ("GET",),
        Auth.USER,
        "The caller's credit orders, newest first",
    ),
)

PAYMENTS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "payments_verify",
        "functions.payments",
        "/api/v1/payments/verify",
        ("POST",),
        Auth.USER,
        "Verify a Razorpay Checkout result and grant the order's credits",
    ),
    HttpFunction(
        "payments_status",
        "functions.payments",
        "/api/v1/payments/status",
        ("GET",),
        Auth.USER,
        "Status of one of the caller's credit orders",
    ),
)

TRANSACTIONS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "transactions_list",
        "functions.transactions",
        "/api/v1/transactions",
        ("GET",),
        Auth.USER,
        "The caller's ledger entries, newest first, filtered by type and time",
    ),
    HttpFunction(
        "transactions_usage",
        "functions.transactions",
        "/api/v1/transactions/usage",
        ("GET",),
        Auth.USER,
        "Credits the caller used, grouped by service or day",
    ),
)

ADMIN: tuple[HttpFunction, ...] = (
    HttpFunction(
        "admin_credits_grant",
        "functions.admin",
        "/api/v1/admin/credits/grant",
        ("POST",),
        Auth.ADMIN,
        "Grant credits to a user, with a reason",
    ),
    HttpFunction(
        "admin_credits_adjust",
        "functions.admin",
        "/api/v1/admin/credits/adjust",
        ("POST",),
        Auth.ADMIN,
        "Adjust a user's credits up or down, with a reason",
    ),
    HttpFunction(
        "admin_accounts",
        "functions.admin_accounts",
        "/api/v1/admin/accounts",
        ("GET",),
        Auth.ADMIN,
        "Find a user's credit account by email or user_id",
    ),
    HttpFunction(
        "admin_transactions",
        "functions.admin_accounts",
        "/api/v1/admin/transactions",
        ("GET",),
        Auth.ADMIN,
        "A user's ledger entries, newest first, filtered by type and time",
    ),
    HttpFunction(
        "admin_order",
        "functions.admin_accounts",
        "/api/v1/admin/orders/{order_id}",
        ("GET",),
        Auth.ADMIN,
        "Any user's credit order: refunds, disputes, chargebacks and second payments to refund",
    ),
    HttpFunction(
        "admin_order_refund",
        "functions.admin_refunds",
        "/api/v1/admin/orders/{order_id}/refund",
        ("POST",),
        Auth.ADMIN,
        "Refund a credit purchase through its provider and take its credits back, once",
    ),
)

# Seed 004: Stripe payments, refunds and webhooks.
STRIPE_PAYMENTS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "stripe_payment_process",
        "functions.payments_stripe",
        "/api/payment/process",
        ("POST",),
        Auth.USER,
        "Pay with a Stripe PaymentMethod (PaymentIntent, 3-D Secure aware)",
    ),
    HttpFunction(
        "stripe_payment_verify",
        "functions.payments_stripe",
        "/api/payment/verify",
        ("POST",),
        Auth.USER,
        "Refresh a payment from Stripe and say whether Stripe confirms it",
    ),
    HttpFunction(
        "stripe_payment_get",
        "functions.payments_stripe",
        "/api/payment/{payment_intent_id}",
        ("GET",),
        Auth.USER,
        "One of the caller's payments",
    ),
)

REFUNDS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "stripe_refund_process",
        "functions.refunds",
        "/api/refund/process",
        ("POST",),
        Auth.USER,
        "Refund a payment in full or in part (never more than captured)",
    ),
    HttpFunction(
        "stripe_refund_verify",
        "functions.refunds",
        "/api/refund/verify",
        ("POST",),
        Auth.USER,
        "Refresh a refund from Stripe and say whether Stripe confirms it",
    ),
    HttpFunction(
        "stripe_refund_get",
        "functions.refunds",
        "/api/refund/{refund_id}",
        ("GET",),
        Auth.USER,
        "One of the caller's refunds",
    ),
)

WEBHOOKS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "webhooks_razorpay",
        "functions.webhooks",
        "/api/v1/webhooks/razorpay",
        ("POST",),
        Auth.WEBHOOK,
        "Razorpay events for credit orders (signature over the raw body)",
    ),
    HttpFunction(
        "stripe_webhook",
        "functions.stripe_webhooks",
        "/api/webhook",
        ("POST",),
        Auth.WEBHOOK,
        "Stripe events, verified by Stripe-Signature",
        aliases=("/api/v1/webhooks/stripe",),
    ),
)

# Metering by other services: usage and holds.
USAGE: tuple[HttpFunction, ...] = (
    HttpFunction(
        "usage_record",
        "functions.usage",
        "/api/v1/usage",
        ("POST",),
        Auth.SERVICE,
        "Charge one usage event, exactly once per (service, event_id)",
        role=ServiceRole.METERING,
        runtime=HOT_PATH_RUNTIME,
    ),
    HttpFunction(
        "usage_batch",
        "functions.usage",
        "/api/v1/usage/batch",
        ("POST",),
        Auth.SERVICE,
        "Charge up to 100 usage events, with a result per event",
        role=ServiceRole.METERING,
    ),
    HttpFunction(
        "usage_void",
        "functions.usage",
        "/api/v1/usage/{event_id}/void",
        ("POST",),
        Auth.SERVICE,
        "Take back a usage charge within its void window; its credits return to their grants",
        role=ServiceRole.METERING,
    ),
    HttpFunction(
        "credits_check",
        "functions.usage",
        "/api/v1/credits/check",
        ("POST",),
        Auth.SERVICE,
        "Could the account spend this much now? One read, no write",
        role=ServiceRole.METERING,
        runtime=HOT_PATH_RUNTIME,
    ),
    HttpFunction(
        "grants_expire",
        "functions.usage",
        "/api/v1/credits/expire",
        ("POST",),
        Auth.SERVICE,
        "Write the expiry of expired credit grants (Cloud Scheduler calls it; see SCHEDULED_JOBS)",
        role=ServiceRole.SCHEDULER,
        runtime=BATCH_RUNTIME,
    ),
)

HOLDS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "holds_place",
        "functions.holds",
        "/api/v1/holds",
        ("POST",),
        Auth.SERVICE,
        "Reserve credits (available drops, balance does not)",
        role=ServiceRole.METERING,
    ),
    HttpFunction(
        "holds_capture",
        "functions.holds",
        "/api/v1/holds/{hold_id}/capture",
        ("POST",),
        Auth.SERVICE,
        "Capture all or part of a hold; the rest is released",
        role=ServiceRole.METERING,
    ),
    HttpFunction(
        "holds_release",
        "functions.holds",
        "/api/v1/holds/{hold_id}/release",
        ("POST",),
        Auth.SERVICE,
        "Release a hold",
        role=ServiceRole.METERING,
    ),
    HttpFunction(
        "holds_expire",
        "functions.holds",
        "/api/v1/holds/expire",
        ("POST",),
        Auth.SERVICE,
        "Release holds past their expiry (Cloud Scheduler calls it; see SCHEDULED_JOBS)",
        role=ServiceRole.SCHEDULER,
        runtime=BATCH_RUNTIME,
    ),
)

# Settling what lost webhooks left open (Cloud Scheduler calls it; see SCHEDULED_JOBS).
RECONCILIATION: tuple[HttpFunction, ...] = (
    HttpFunction(
        "reconcile",
        "functions.reconcile",
        "/api/v1/reconcile",
        ("POST",),
        Auth.SERVICE,
        "Settle credit orders and payments left open past the reconcile age, asking the provider",
        role=ServiceRole.SCHEDULER,
        runtime=BATCH_RUNTIME,
    ),
)

# Operations: OpenAPI document, devices, ...
OPERATIONS: tuple[HttpFunction, ...] = (
    HttpFunction(
        "openapi",
        "functions.openapi",
        "/api/v1/openapi.json",
        ("GET",),
        Auth.NONE,
        "This API's OpenAPI 3.1 document",
    ),
    HttpFunction(
        "devices_register",
        "functions.devices",
        "/api/v1/devices",
        ("POST",),
        Auth.USER,
        "Register the caller's FCM token for push notifications",
    ),
)

# GST tax invoices and credit notes of credit purchases, and the buyer's billing details.
INVOICES: tuple[HttpFunction, ...] = (
    HttpFunction(
        "invoices_list",
        "functions.invoices",
        "/api/v1/invoices",
        ("GET",),
        Auth.USER,
        "The caller's tax invoices and credit notes, newest first (admins: any account's)",
    ),
    HttpFunction(
        "invoices_get",
        "functions.invoices",
        "/api/v1/invoices/{invoice_id}",
        ("GET",),
        Auth.USER,
        "One tax invoice or credit note",
    ),
    HttpFunction(
        "invoices_pdf",
        "functions.invoices",
        "/api/v1/invoices/{invoice_id}/pdf",
        ("GET",),
        Auth.USER,
        "One tax invoice or credit note as PDF",
    ),
    HttpFunction(
        "billing_details",
        "functions.billing_details",
        "/api/v1/billing/details",
        ("GET", "PUT"),
        Auth.USER,
        "The caller's billing details for invoices (admins: GET any account's)",
    ),
)

HTTP_FUNCTIONS: tuple[HttpFunction, ...] = (
    HEALTH
    + CREDITS
    + PAYMENTS
    + TRANSACTIONS
    + ADMIN
    + STRIPE_PAYMENTS
    + REFUNDS
    + WEBHOOKS
    + USAGE
    + HOLDS
    + RECONCILIATION
    + OPERATIONS
    + INVOICES
)

FIRESTORE_CREATED = "google.cloud.firestore.document.v1.created"
FIRESTORE_WRITTEN = "google.cloud.firestore.document.v1.written"

# Firestore triggers on the account document, which every ledger commit writes: low-balance alerts.
LEDGER_TRIGGERS: tuple[TriggerFunction, ...] = (
    TriggerFunction(
        "account_low_balance_alert",
        "functions.triggers",
        FIRESTORE_WRITTEN,
        "user_credits/{uid}",
        "One alert (and FCM push) per downward crossing of the low-balance threshold",
    ),
)

# The event-service outbox: deliver each notification written in a state change's commit.
OUTBOX_TRIGGERS: tuple[TriggerFunction, ...] = (
    TriggerFunction(
        "deliver_outbox",
        "functions.triggers_outbox",
        FIRESTORE_CREATED,
        "outbox/{event_id}",
        "Deliver an event-service notification (signed, retried, parked after N failures)",
    ),
)

TRIGGER_FUNCTIONS: tuple[TriggerFunction, ...] = LEDGER_TRIGGERS + OUTBOX_TRIGGERS


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A Cloud Scheduler job calling a registered HTTP function with an OIDC token.

    The function is an ``Auth.SERVICE`` endpoint of ``ServiceRole.SCHEDULER``: the scheduler's
    service account must be on SCHEDULER_SERVICE_ACCOUNTS, and the token's audience is this service.
    """

    function: str  # an HttpFunction's name
    schedule: str  # cron, in time_zone
    summary: str
    time_zone: str = "Etc/UTC"
    runtime: Runtime = BATCH_RUNTIME

    @property
    def name(self) -> str:
        """The scheduled function's own name (scheduler_fn.on_schedule): it runs the same pass."""
        return f"{self.function}_job"


SCHEDULED_JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob("holds_expire", "* * * * *", "Release expired holds every minute"),
    ScheduledJob("grants_expire", "*/5 * * * *", "Write expired credit grants' expiry entries"),
    ScheduledJob("reconcile", "*/5 * * * *", "Settle orders and payments a webhook never did"),
)


def http_function(name: str) -> HttpFunction:
    """Return the registered HTTP function called ``name``."""
    for function in HTTP_FUNCTIONS:
        if function.name == name:
            return function
    raise KeyError(f"no HTTP function named {name!r} in the registry")


def hosting_source(path: str) -> str:
    """Return the Firebase Hosting rewrite source for a path: each {param} becomes a * glob."""
    return "/".join("*" if part.startswith("{") else part for part in path.split("/"))


# Firebase Hosting's public folder: the billing portal, a static page beside the rewrites.
HOSTING_PUBLIC = "portal"


def hosting(region: str = "us-central1") -> dict[str, object]:
    """Return the ``hosting`` section of ``firebase.json``: the portal and the rewrites."""
    return {
        "public": HOSTING_PUBLIC,
        "ignore": ["firebase.json", "**/.*"],
        "rewrites": hosting_rewrites(region),
    }


def hosting_rewrites(region: str = "us-central1") -> list[dict[str, object]]:
    """Return the hosting rewrites of the public endpoints, literal paths before globbed ones.

    Service endpoints are private (IAM invokers only): Hosting cannot carry their callers' ID
    tokens, so they are called at their own function URLs and get no rewrite.
    """
    public = [f for f in HTTP_FUNCTIONS if f.auth is not Auth.SERVICE]
    routes = [(hosting_source(p), f.name) for f in public for p in f.paths]
    routes.sort(key=lambda route: "*" in route[0])
    return [
        {"source": source, "function": {"functionId": name, "region": region}}
        for source, name in routes
    ]
