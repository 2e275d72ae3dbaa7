"""The service's HTTP edge in this process: every registered function, on in-memory fakes.

Requests go through the local gateway's routing (``devstack.gateway``, the registry's paths) to
the real entry points and their ``@endpoint`` wrapper (auth, parsing, Idempotency-Key, error
mapping), with ``Services`` wired as in production except for the parts handed in as fakes
(``Services(settings, overrides=...)``). So the HTTP-edge rules (bad input, Idempotency-Key,
auth shapes, claimed ids, answer shapes) are proven in milliseconds; what needs real Firestore,
real tokens or a real provider stays in tests/e2e.

Credentials: ``Bearer uid-<name>`` is a user, ``Bearer admin-<name>`` a user with the admin
claim (``TokensAreUids``), ``Bearer service-<email>`` a verified service account. Provider
signatures are checked by the real adapters' code with this module's secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from shared.access.auth import ServiceCaller, ServiceTokenVerifier, require_allowed_service
from shared.adapters.razorpay_gateway import RazorpayGateway
from shared.adapters.stripe_gateway import StripeGateway
from shared.bootstrap import ServiceParts, Services
from shared.config import Settings
from shared.errors import Unauthenticated
from shared.ledger.entries import EntryType, Posting
from shared.payments.providers import ProviderEvent
from tests.unit.fakes import (
    Clock,
    MemoryAccounts,
    MemoryBilling,
    MemoryDevices,
    MemoryDocuments,
    MemoryHolds,
    MemoryIdempotency,
    MemoryLedger,
    MemoryOrderRefunds,
    MemoryOrders,
    MemoryPackages,
    MemoryPayments,
    MemoryQueue,
    MemorySlots,
    Razorpay,
    Stripe,
    TokensAreUids,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from google.cloud import firestore
    from werkzeug.test import TestResponse

METERING = "metering@billing.test"
REPORTS = "reports@billing.test"  # a second metering account, reporting as "reports" only
SCHEDULER = "scheduler@billing.test"
METERING_SERVICES = ["ai", "chat", "search"]
RAZORPAY_KEY_SECRET = "rzp_key_secret_edge"
RAZORPAY_WEBHOOK_SECRET = "rzp_webhook_secret_edge"
STRIPE_WEBHOOK_SECRET = "whsec_edge"

SETTINGS = Settings(
    metering_service_accounts=f"{METERING},{REPORTS}",
    scheduler_service_accounts=SCHEDULER,
    service_names={METERING: METERING_SERVICES},
    razorpay_key_id="rzp_test_edge",
    stripe_publishable_key="pk_test_edge",
    push_sender="log",
)


class ServiceTokensAreEmails(ServiceTokenVerifier):
    """``service-<email>`` is that service account, if an allow-list has it (else 403)."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed

    def verify(self, token: str, *, behind_iam: bool = False) -> ServiceCaller:
        if not token.startswith("service-"):
            raise Unauthenticated("bad service token")
        email = require_allowed_service(token.removeprefix("service-"), self.allowed)
        return ServiceCaller(uid=email)


class SignedRazorpay(Razorpay):
    """The Razorpay fake, whose Checkout and webhook signatures the real adapter's code checks."""

    def __init__(self) -> None:
        super().__init__(key_id=SETTINGS.razorpay_key_id)
        self.signatures = RazorpayGateway(
            SETTINGS.razorpay_key_id, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET
        )

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        return self.signatures.checkout_signature_valid(order_id, payment_id, signature)

    def verify_event(
        self, body: bytes, signature: str | None, event_id: str | None
    ) -> ProviderEvent:
        return self.signatures.verify_event(body, signature, event_id)


class SignedStripe(Stripe):
    """The Stripe fake, whose webhook signatures the real adapter's code checks."""

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        return StripeGateway("sk_test_edge", STRIPE_WEBHOOK_SECRET).verify_event(body, signature)


def checkout_signature(order_id: str, payment_id: str) -> str:
    """What Razorpay Checkout hands the client for a paid order."""
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(RAZORPAY_KEY_SECRET.encode(), message, hashlib.sha256).hexdigest()


def razorpay_webhook_headers(body: bytes, *, signed: bool = True) -> dict[str, str]:
    secret = RAZORPAY_WEBHOOK_SECRET if signed else "wrong-secret"
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Razorpay-Signature": mac, "Content-Type": "application/json"}


def stripe_webhook_headers(body: bytes, *, signed: bool = True) -> dict[str, str]:
    secret = STRIPE_WEBHOOK_SECRET if signed else "whsec_wrong"
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


class NoFirestore:
    """In place of the Firestore client: a part reached that should have been a fake fails."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"an in-process edge test reached Firestore (.{name}): add a fake")


@dataclass
class Answer:
    """One answer, read as tests read ``requests`` answers (``.json()``, ``.text``)."""

    response: TestResponse

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> Any:
        return self.response.headers

    @property
    def text(self) -> str:
        return self.response.get_data(as_text=True)

    def json(self) -> Any:
        return json.loads(self.response.get_data())


@cache
def gateway_app() -> WSGIApplication:
    """Every registered function at its public path, as the local gateway serves them.

    Without Cloud Run's front end (tests/unit/test_front_end.py proves it): the fake service
    tokens here stand for tokens its IAM check has already admitted.
    """
    from devstack.gateway import build_gateway

    return build_gateway(cloud_run_front_end=False)


@dataclass
class Edge:
    """The service behind its HTTP edge, on fakes; the fakes are here to arrange and inspect."""

    clock: Clock = field(default_factory=Clock)  # the one clock of Services and every fake
    stripe: SignedStripe = field(default_factory=SignedStripe)
    razorpay: SignedRazorpay = field(default_factory=SignedRazorpay)
    order_refunds: MemoryOrderRefunds = field(default_factory=MemoryOrderRefunds)
    packages: MemoryPackages = field(default_factory=MemoryPackages)
    slots: MemorySlots = field(default_factory=MemorySlots)
    devices: MemoryDevices = field(default_factory=MemoryDevices)
    queue: MemoryQueue = field(default_factory=MemoryQueue)
    invoices: MemoryDocuments = field(default_factory=MemoryDocuments)
    billing_details: MemoryBilling = field(default_factory=MemoryBilling)

    def __post_init__(self) -> None:
        self.ledger = MemoryLedger(self.clock)
        self.payments = MemoryPayments(self.clock)
        self.idempotency = MemoryIdempotency(self.clock)
        self.orders = MemoryOrders(ledger=self.ledger)
        self.holds = MemoryHolds(self.ledger)
        self.accounts = MemoryAccounts(self.ledger)
        self.services = Services(SETTINGS, overrides=self.parts())

    def parts(self) -> ServiceParts:
        parts = ServiceParts(
            clock=self.clock,
            firestore=cast("firestore.Client", NoFirestore()),
            ledger=self.ledger,
            idempotency=self.idempotency,
            token_verifier=TokensAreUids(),
            service_verifier=ServiceTokensAreEmails(frozenset({METERING, REPORTS, SCHEDULER})),
            orders=self.orders,
            order_refunds=self.order_refunds,
            accounts=self.accounts,
            packages=self.packages,
            payments=self.payments,
            payment_gateway=self.stripe,
            holds=self.holds,
            rate_limit_slots=self.slots,
            processed_events=self.payments.processed,
            devices=self.devices,
            reconcile_queue=self.queue,
            invoices=self.invoices,
            billing_details=self.billing_details,
        )
        # Services declares the Razorpay part as its adapter class; the fake stands in for it.
        return cast(ServiceParts, {**parts, "razorpay": self.razorpay})

    # --- requests -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        """Send one request through the gateway's routing, as a client would."""
        from werkzeug.test import Client

        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": content_type, **(headers or {})}
        return Answer(Client(gateway_app()).open(path, method=method, data=data, headers=sent))

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers)

    def post(self, path: str, headers: Mapping[str, str] | None = None, body: Any = None) -> Answer:
        return self.request("POST", path, headers, body)

    # --- arranging ------------------------------------------------------------------------

    def fund(self, uid: str, credits: int = 10_000) -> None:
        self.ledger.append(uid, [Posting(EntryType.GRANT, credits, actor="test")])

    def paid_razorpay_checkout(self, provider_order_id: str, amount: int) -> dict[str, str]:
        """Pay an order as Razorpay Checkout would; return what Checkout hands the client."""
        payment_id = self.razorpay.pay(provider_order_id, amount)
        return {
            "razorpay_order_id": provider_order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": checkout_signature(provider_order_id, payment_id),
        }


def user(name: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer uid-{name}"}


def admin(name: str = "ops") -> dict[str, str]:
    return {"Authorization": f"Bearer admin-{name}"}


def service(email: str = METERING) -> dict[str, str]:
    return {"Authorization": f"Bearer service-{email}"}


def uid_of(headers: Mapping[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")
