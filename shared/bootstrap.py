"""The one place where the service is wired: settings, clients and adapters.

Everything is built lazily, once per instance, on first use, so importing an entry point costs
no client and no network. Tests and benchmarks hand in ready-made parts with
``Services(settings, overrides=ServiceParts(...))`` and install the result with ``override``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict

from shared.config import Settings, get_settings
from shared.log import configure_logging

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.access.auth import ServiceAccess, ServiceTokenVerifier, TokenVerifier
    from shared.access.idempotency import IdempotencyStore
    from shared.access.rate_limits import RateLimit, SlotCounter
    from shared.accounts.alerts import AlertStore, PushSender
    from shared.accounts.credit_accounts import AccountStore, WelcomeGrant
    from shared.accounts.devices import DeviceStore
    from shared.adapters.event_service import OutboxDelivery
    from shared.adapters.firebase_auth import FirebaseUserDirectory
    from shared.adapters.razorpay_gateway import RazorpayGateway
    from shared.adapters.stripe_checkout import StripeCreditCheckout
    from shared.invoices.billing import BillingDetailsStore
    from shared.invoices.documents import Seller
    from shared.invoices.issuing import InvoiceIssuer, TaxDocumentStore
    from shared.ledger.store import LedgerStore
    from shared.payments.providers import GatewayRefund, ProcessedEvents
    from shared.payments.refunds import RefundGateway, RefundStore
    from shared.payments.stripe_events import (
        CardRefunds,
        CreditOrderIntent,
        CreditOrderRefunded,
        StripeWebhooks,
    )
    from shared.purchases.checkout import CreditPurchases
    from shared.purchases.orders import OrderStore
    from shared.purchases.packages import PackageCatalog
    from shared.purchases.razorpay_events import RazorpayWebhooks
    from shared.purchases.reconciliation import ReconcileQueue, Reconciler
    from shared.purchases.refunds import OrderRefundStore
    from shared.usage.holds import HoldStore


class ServiceParts(TypedDict, total=False):
    """Parts a test or benchmark may supply ready-made instead of having them built."""

    firestore: firestore.Client
    ledger: LedgerStore
    idempotency: IdempotencyStore
    token_verifier: TokenVerifier
    service_verifier: ServiceTokenVerifier
    orders: OrderStore
    order_refunds: OrderRefundStore
    accounts: AccountStore
    packages: PackageCatalog
    payments: RefundStore
    payment_gateway: RefundGateway
    holds: HoldStore
    rate_limit_slots: SlotCounter
    outbox_delivery: OutboxDelivery
    push_sender: PushSender
    clock: Callable[[], datetime]
    processed_events: ProcessedEvents
    devices: DeviceStore
    reconcile_queue: ReconcileQueue
    invoices: TaxDocumentStore
    billing_details: BillingDetailsStore


@dataclass
class Services:
    """This instance's wired services; attributes are built on first access."""

    settings: Settings = field(default_factory=get_settings)
    overrides: InitVar[ServiceParts | None] = None

    def __post_init__(self, overrides: ServiceParts | None) -> None:
        # Seed 000's DEBUG=true turns on debug logs whatever LOG_LEVEL says.
        configure_logging("DEBUG" if self.settings.debug else self.settings.log_level)
        for name, part in (overrides or {}).items():
            if not isinstance(getattr(type(self), name, None), cached_property):
                raise TypeError(f"{name} is not a part of Services")
            # A supplied part takes the place a cached_property would fill on first access.
            self.__dict__[name] = part

    @cached_property
    def clock(self) -> Callable[[], datetime]:
        """The one clock every use case and handler reads "now" from (tests supply their own)."""
        return lambda: datetime.now(UTC)

    @cached_property
    def firestore(self) -> firestore.Client:
        from shared.adapters.firestore_client import build_firestore_client

        return build_firestore_client(
            self.settings.firestore_project, self.settings.firestore_database
        )

    @cached_property
    def ledger(self) -> LedgerStore:
        from shared.adapters.firestore_ledger import FirestoreLedger

        return FirestoreLedger(
            self.firestore,
            max_attempts=self.settings.ledger_max_attempts,
            timeout_seconds=self.settings.firestore_timeout_seconds,
        )

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from shared.adapters.firestore_idempotency import FirestoreIdempotencyStore

        return FirestoreIdempotencyStore(
            self.firestore, timeout_seconds=self.settings.firestore_timeout_seconds
        )

    @cached_property
    def token_verifier(self) -> TokenVerifier:
        from shared.adapters.firebase_auth import (
            FirebaseTokenVerifier,
            build_firebase_app,
        )

        return FirebaseTokenVerifier(
            build_firebase_app(self.settings.firebase_project_id),
            check_revoked=self.settings.auth_check_revoked,
            revocation_cache_seconds=self.settings.auth_revocation_cache_seconds,
        )

    @cached_property
    def user_directory(self) -> FirebaseUserDirectory:
        from shared.adapters.firebase_auth import FirebaseUserDirectory, build_firebase_app

        return FirebaseUserDirectory(build_firebase_app(self.settings.firebase_project_id))

    @cached_property
    def orders(self) -> OrderStore:
        from shared.adapters.firestore_orders import FirestoreOrders

        return FirestoreOrders(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def order_refunds(self) -> OrderRefundStore:
        from shared.adapters.firestore_order_refunds import FirestoreOrderRefunds

        return FirestoreOrderRefunds(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def accounts(self) -> AccountStore:
        from shared.adapters.firestore_accounts import FirestoreAccounts

        return FirestoreAccounts(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def packages(self) -> PackageCatalog:
        from shared.adapters.firestore_packages import FirestorePackages

        return FirestorePackages(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def razorpay(self) -> RazorpayGateway:
        from shared.adapters.razorpay_gateway import RazorpayGateway

        s = self.settings
        return RazorpayGateway(
            s.razorpay_key_id,
            s.razorpay_key_secret.get_secret_value(),
            s.razorpay_webhook_secret.get_secret_value(),
            s.razorpay_base_url,
            timeout_seconds=s.razorpay_timeout_seconds,
        )

    @cached_property
    def rate_limit_slots(self) -> SlotCounter:
        from shared.adapters.firestore_rate_limits import FirestoreSlotCounter

        return FirestoreSlotCounter(self.firestore, self.settings.firestore_timeout_seconds)

    def rate_limit(self, action: str) -> RateLimit:
        """The per-user limit of ``action`` (payment, usage_summary, device), from settings."""
        from shared.access.rate_limits import RateLimit

        s = self.settings
        limit = {
            "payment": s.payment_rate_limit,
            "usage_summary": s.usage_summary_rate_limit,
            "device": s.device_rate_limit,
        }[action]
        return RateLimit(action, limit, s.rate_limit_window_seconds)

    @cached_property
    def purchases(self) -> CreditPurchases:
        """Credit purchases through either provider (starting one picks the provider)."""
        from dataclasses import replace

        return replace(
            self.purchase_rules,
            razorpay=lambda: self.razorpay,
            stripe=lambda: self.stripe_checkout,
        )

    # One provider's side of credit purchases: a function that only verifies Razorpay payments,
    # or only handles Stripe's events, reaches (and is deployed with) that provider's secrets only.
    @cached_property
    def razorpay_purchases(self) -> CreditPurchases:
        from dataclasses import replace

        return replace(self.purchase_rules, razorpay=lambda: self.razorpay)

    @cached_property
    def stripe_purchases(self) -> CreditPurchases:
        from dataclasses import replace

        return replace(self.purchase_rules, stripe=lambda: self.stripe_checkout)

    @cached_property
    def purchase_rules(self) -> CreditPurchases:
        """Credit purchases with no provider wired: what every provider's side shares."""
        import uuid

        from shared.access.rate_limits import RateLimit
        from shared.purchases.checkout import CreditPurchases

        s = self.settings
        return CreditPurchases(
            ledger=self.ledger,
            orders=self.orders,
            packages=self.packages,
            razorpay=None,
            stripe=None,
            slots=self.rate_limit_slots,
            purchase_limit=RateLimit(
                "purchase", s.purchase_rate_limit, s.rate_limit_window_seconds
            ),
            verify_limit=RateLimit("verify", s.verify_rate_limit, s.rate_limit_window_seconds),
            clock=self.clock,
            new_order_id=lambda: f"ord_{uuid.uuid4().hex}",
            fx_rates=s.credit_fx_rates,
            bonus_expiry_days=s.bonus_credit_expiry_days or None,
            documents=self.invoice_issuer,
        )

    @cached_property
    def invoices(self) -> TaxDocumentStore:
        from shared.adapters.firestore_invoices import FirestoreTaxDocuments

        return FirestoreTaxDocuments(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def billing_details(self) -> BillingDetailsStore:
        from shared.adapters.firestore_invoices import FirestoreBillingDetails

        return FirestoreBillingDetails(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def seller(self) -> Seller:
        from shared.invoices.documents import Party, Seller

        s = self.settings
        party = Party(
            s.seller_legal_name,
            s.seller_address,
            s.seller_state or None,
            "IN",
            s.seller_gstin or None,
        )
        return Seller(
            party, s.invoice_sac, s.invoice_series, s.credit_note_series, s.invoice_lut_reference
        )

    @cached_property
    def invoice_issuer(self) -> InvoiceIssuer:
        """Issues the tax invoice of each paid order and the credit note of each refund."""
        from shared.invoices.issuing import InvoiceIssuer

        return InvoiceIssuer(
            documents=self.invoices,
            billing=self.billing_details,
            seller=self.seller,
            fx_rates=self.settings.credit_fx_rates,
            clock=self.clock,
        )

    @cached_property
    def stripe_checkout(self) -> StripeCreditCheckout:
        from shared.adapters.stripe_checkout import StripeCreditCheckout

        return StripeCreditCheckout(self.payment_gateway, self.settings.stripe_publishable_key)

    @cached_property
    def processed_events(self) -> ProcessedEvents:
        from shared.adapters.firestore_processed_events import FirestoreProcessedEvents

        return FirestoreProcessedEvents(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def razorpay_webhooks(self) -> RazorpayWebhooks:
        from shared.purchases.razorpay_events import RazorpayWebhooks

        return RazorpayWebhooks(
            gateway=lambda: self.razorpay,
            ledger=self.ledger,
            orders=self.orders,
            processed=self.processed_events,
            clock=self.clock,
            documents=self.invoice_issuer,
        )

    @cached_property
    def stripe_webhooks(self) -> StripeWebhooks:
        from shared.payments.stripe_events import StripeWebhooks

        return StripeWebhooks(
            payments=self.payments,
            processed=self.processed_events,
            credit_order_intent=self.credit_order_intent,
            credit_order_refunded=self.credit_order_refunded,
            credit_order_disputed=self.stripe_purchases.stripe_dispute_event,
            card_refunds=self.card_refunds,
        )

    @cached_property
    def card_refunds(self) -> CardRefunds:
        """Stripe's list of a card payment's refunds, for a refund event that names none."""

        def refunds_of(payment_intent_id: str) -> Sequence[GatewayRefund]:
            return self.payment_gateway.refunds_of(payment_intent_id)  # the gateway, when asked

        return refunds_of

    @cached_property
    def payment_gateway(self) -> RefundGateway:
        from shared.adapters.stripe_gateway import StripeGateway

        return StripeGateway(
            self.settings.stripe_secret_key.get_secret_value(),
            self.settings.stripe_webhook_secret.get_secret_value(),
            api_base=self.settings.stripe_api_base,
            timeout_seconds=self.settings.stripe_timeout_seconds,
        )

    @cached_property
    def payments(self) -> RefundStore:
        from shared.adapters.firestore_payments import FirestorePayments

        return FirestorePayments(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def outbox_delivery(self) -> OutboxDelivery:
        from shared.adapters.event_service import OutboxDelivery

        return OutboxDelivery(
            self.firestore,
            self.settings.event_service_url,
            self.settings.event_service_secret.get_secret_value(),
            max_attempts=self.settings.outbox_max_attempts,
            timeout_seconds=self.settings.event_service_timeout_seconds,
        )

    @cached_property
    def credit_order_intent(self) -> CreditOrderIntent:
        """Stripe credit purchases: the credits domain grants the order the intent pays."""
        return self.stripe_purchases.stripe_intent_event

    @cached_property
    def credit_order_refunded(self) -> CreditOrderRefunded:
        """Clawback hook for Stripe credit purchases: every refund of the payment, each once."""
        from shared.purchases.checkout import STRIPE

        def refunded(payment_intent_id: str) -> None:
            self.stripe_purchases.claw_back_provider_refunds(STRIPE, payment_intent_id)

        return refunded

    @cached_property
    def reconcile_queue(self) -> ReconcileQueue:
        # Its own part so that a test hands in a queue and keeps the Reconciler wired as here.
        from shared.adapters.firestore_reconciliation import FirestoreReconcileQueue

        return FirestoreReconcileQueue(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def reconciler(self) -> Reconciler:
        from shared.purchases.reconciliation import Reconciler

        return Reconciler(
            ledger=self.ledger,
            orders=self.orders,
            payments=self.payments,
            queue=self.reconcile_queue,
            razorpay=lambda: self.razorpay,
            stripe=lambda: self.payment_gateway,
            clock=self.clock,
            documents=self.invoice_issuer,
        )

    @cached_property
    def service_access(self) -> ServiceAccess:
        from shared.access.auth import ServiceAccess

        s = self.settings
        return ServiceAccess.from_settings(
            s.metering_service_accounts, s.scheduler_service_accounts, s.service_names
        )

    @cached_property
    def service_verifier(self) -> ServiceTokenVerifier:
        from shared.adapters.service_identity import GoogleServiceTokenVerifier

        # Any allow-listed account passes here; each endpoint then admits its own role only.
        return GoogleServiceTokenVerifier(
            self.settings.service_audience,
            self.service_access.accounts,
            self.settings.service_certs_url,
        )

    @cached_property
    def welcome(self) -> WelcomeGrant | None:
        s = self.settings
        if not s.welcome_grant_credits:
            return None
        from shared.accounts.credit_accounts import WelcomeGrant

        return WelcomeGrant(self.ledger, s.welcome_grant_credits, s.welcome_grant_expiry_days)

    @cached_property
    def holds(self) -> HoldStore:
        from shared.adapters.firestore_holds import FirestoreHoldStore

        return FirestoreHoldStore(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def alerts(self) -> AlertStore:
        from shared.adapters.firestore_alerts import FirestoreAlertStore

        return FirestoreAlertStore(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def devices(self) -> DeviceStore:
        from shared.adapters.firestore_devices import FirestoreDeviceStore

        return FirestoreDeviceStore(self.firestore, self.settings.firestore_timeout_seconds)

    @cached_property
    def push_sender(self) -> PushSender:
        if self.settings.push_sender == "log":
            from shared.adapters.push_log import LoggingPushSender

            return LoggingPushSender()
        from shared.adapters.fcm import FcmPushSender
        from shared.adapters.firebase_auth import build_firebase_app

        return FcmPushSender(build_firebase_app(self.settings.firebase_project_id))


_services: Services | None = None


def services() -> Services:
    """Return this instance's services, wiring them on first call."""
    global _services  # noqa: PLW0603 - one wiring per process is the point
    if _services is None:
        _services = Services()
    return _services


def override(replacement: Services | None) -> None:
    """Install ``replacement`` as this process's services (tests), or reset with None."""
    global _services  # noqa: PLW0603
    _services = replacement
