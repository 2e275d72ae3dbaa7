"""Faults and reconciliation, end to end, on a stack of this module's own.

The private stack has its own Firestore emulator, Razorpay sandbox, localstripe and gateway (it
shares the session's Auth emulator and service-token certs), so stopping or freezing a part
harms no other test. localstripe's webhooks are never registered here: every Stripe webhook is
lost, which is what reconciliation is for. Timeouts are lowered (2 s) so faults answer quickly.

Two kinds of fault: a part *stopped* (connections refused; a restarted emulator or sandbox
starts empty) and a part *frozen* with SIGSTOP (calls time out; its state survives SIGCONT).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import METERING_SERVICE_EMAIL, SCHEDULER_SERVICE_EMAIL, Ports, Stack
from ops.audit import audit
from tests.conftest import User, eventually, sign_up
from tests.e2e.stripe_helpers import CARD_3DS, CARD_OK, authenticate_3ds, payment_method

pytestmark = pytest.mark.stack

BASIC_GRANT = 55_000  # package "basic": 50000 credits + 5000 bonus


@dataclass
class FaultStack(Stack):
    def client_env(self) -> dict[str, str]:
        fast = {
            "FIRESTORE_TIMEOUT_SECONDS": "2",
            "RAZORPAY_TIMEOUT_SECONDS": "2",
            "STRIPE_TIMEOUT_SECONDS": "2",
        }
        return {**super().client_env(), **fast}


@pytest.fixture(scope="module")
def private(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    shared = {"auth": stack.ports.auth, "service_certs": stack.ports.service_certs}
    local = FaultStack(
        ports=replace(Ports.free(), **shared), state_dir=tmp_path_factory.mktemp("faults")
    )
    local.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        local.start_firestore()
        local.start_razorpay()
        local.start_stripe()
        local.start_gateway()  # no Stripe webhook registered: all of them are lost
        yield local
    finally:
        local.stop()


@pytest.fixture
def scheduler(private: FaultStack, service_tokens: Any) -> dict[str, str]:
    """What Cloud Scheduler sends: an OIDC token of the allow-listed scheduler account."""
    token = service_tokens.mint(SCHEDULER_SERVICE_EMAIL, private.service_audience)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def metering(private: FaultStack, service_tokens: Any) -> dict[str, str]:
    """What a metering service sends (the scheduler's account may not report usage)."""
    token = service_tokens.mint(METERING_SERVICE_EMAIL, private.service_audience)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def customer(stack: Stack) -> User:
    return sign_up(stack)


def call(
    private: Stack, method: str, path: str, headers: dict[str, str], **kw: Any
) -> requests.Response:
    # The client's own timeout bounds every call: a request that hangs fails the test.
    return requests.request(
        method, f"{private.gateway_url}{path}", headers=headers, timeout=30, **kw
    )


def reconcile(private: Stack, scheduler: dict[str, str], **body: int) -> dict[str, str]:
    response = call(private, "POST", "/api/v1/reconcile", scheduler, json=body)
    assert response.status_code == 200, response.text
    return {item["id"]: item["outcome"] for item in response.json()["data"]}


def balance(private: Stack, user: User) -> int:
    response = call(private, "GET", "/api/v1/credits/balance", user.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


def purchase(private: Stack, user: User, **body: Any) -> requests.Response:
    return call(
        private,
        "POST",
        "/api/v1/credits/purchase",
        user.headers,
        json=body or {"package_id": "basic"},
    )


def order_status(private: Stack, user: User, order_id: str) -> str:
    response = call(
        private, "GET", "/api/v1/payments/status", user.headers, params={"order_id": order_id}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def pay_in_sandbox(private: Stack, razorpay_order_id: str) -> dict[str, str]:
    """Pay as Checkout would, with the sandbox's webhooks suppressed (they are 'lost')."""
    response = requests.post(
        f"{private.razorpay_url}/_sandbox/orders/{razorpay_order_id}/pay",
        json={"webhooks": False},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def entry_types(private: Stack, user: User) -> list[str]:
    response = call(private, "GET", "/api/v1/transactions", user.headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return sorted(e["type"] for e in response.json()["data"])


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert isinstance(error["details"], dict)


@contextmanager
def frozen(private: Stack, name: str) -> Iterator[None]:
    """Freeze one of the private stack's processes (SIGSTOP): calls to it time out."""
    popen = private.processes[name].popen
    assert popen is not None
    os.killpg(popen.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(popen.pid, signal.SIGCONT)


@contextmanager
def stopped(private: Stack, name: str, restart: Callable[[], None]) -> Iterator[None]:
    """Stop one of the private stack's processes (connections refused), restart it after."""
    private.processes.pop(name).stop()
    try:
        yield
    finally:
        restart()


def audit_private(private: Stack, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{private.ports.firestore}")
    _, problems = audit(firestore.Client(project=private.project))
    return problems


# --- reconciliation ----------------------------------------------------------------------


def test_reconcile_grants_a_razorpay_purchase_whose_webhook_and_verify_never_came(
    private: FaultStack, customer: User, scheduler: dict[str, str], monkeypatch: Any
) -> None:
    order = purchase(private, customer).json()
    checkout = pay_in_sandbox(private, order["provider_order_id"])
    # Younger than the configured age (15 min): the scheduled run leaves it alone.
    assert order["order_id"] not in reconcile(private, scheduler)
    assert balance(private, customer) == 0

    assert reconcile(private, scheduler, older_than_seconds=0)[order["order_id"]] == "granted"
    assert balance(private, customer) == BASIC_GRANT
    assert order_status(private, customer, order["order_id"]) == "paid"

    # Settled: later runs do not look at it again, and nothing is granted twice.
    assert order["order_id"] not in reconcile(private, scheduler, older_than_seconds=0)
    late_verify = call(private, "POST", "/api/v1/payments/verify", customer.headers, json=checkout)
    assert late_verify.status_code == 200, late_verify.text
    late_webhook = requests.post(
        f"{private.razorpay_url}/_sandbox/webhooks/send",
        json={"event": "payment.captured", "payment_id": checkout["razorpay_payment_id"]},
        timeout=15,
    )
    assert late_webhook.status_code == 200, late_webhook.text
    assert balance(private, customer) == BASIC_GRANT
    assert entry_types(private, customer) == ["bonus", "purchase"]
    assert audit_private(private, monkeypatch) == []


def test_reconcile_grants_a_stripe_credit_purchase_whose_webhook_was_lost(
    private: FaultStack, customer: User, scheduler: dict[str, str], stripe_client: Any
) -> None:
    import stripe

    response = purchase(private, customer, amount=2000, currency="usd")
    assert response.status_code == 201, response.text
    order = response.json()
    local = stripe.StripeClient(
        private.stripe_secret_key, base_addresses={"api": private.stripe_url}
    )
    pm = payment_method(local, CARD_OK)
    local.v1.payment_intents.update(order["provider_order_id"], params={"payment_method": pm})
    local.v1.payment_intents.confirm(order["provider_order_id"])
    assert balance(private, customer) == 0  # the webhook never comes on this stack

    assert reconcile(private, scheduler, older_than_seconds=0)[order["order_id"]] == "granted"
    assert order["order_id"] not in reconcile(private, scheduler, older_than_seconds=0)
    assert balance(private, customer) == order["credits"] + order["bonus_credits"]
    assert entry_types(private, customer) == ["bonus", "purchase"]


def test_reconcile_moves_a_3ds_payment_forward_when_its_webhook_was_lost(
    private: FaultStack, customer: User, scheduler: dict[str, str]
) -> None:
    import stripe

    local = stripe.StripeClient(
        private.stripe_secret_key, base_addresses={"api": private.stripe_url}
    )
    body = {"amount": 1000, "currency": "sgd", "payment_method": payment_method(local, CARD_3DS)}
    paid = call(private, "POST", "/api/payment/process", customer.headers, json=body).json()
    assert paid["status"] == "requires_action"
    authenticate_3ds(private, paid["payment_intent_id"], paid["client_secret"])

    pi = paid["payment_intent_id"]
    assert reconcile(private, scheduler, older_than_seconds=0)[pi] == "succeeded"
    ours = call(private, "GET", f"/api/payment/{pi}", customer.headers).json()
    assert ours["status"] == "succeeded"
    assert pi not in reconcile(private, scheduler, older_than_seconds=0)


def test_orders_razorpay_refuses_to_fetch_never_starve_a_paid_one(
    private: FaultStack, customer: User, scheduler: dict[str, str], monkeypatch: Any
) -> None:
    """150 old orders the sandbox does not know (400) ahead of one paid with lost webhooks."""
    from google.cloud import firestore

    from shared.adapters.firestore_orders import FirestoreOrders
    from shared.purchases.orders import CreditOrder
    from shared.purchases.pricing import quote_purchase

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{private.ports.firestore}")
    orders = FirestoreOrders(firestore.Client(project=private.project))
    two_days_ago = datetime.now(UTC) - timedelta(days=2)  # inside the 3-day give-up age
    abandoned = [f"ord_gone_{uuid.uuid4().hex[:8]}_{n:03d}" for n in range(150)]
    for n, order_id in enumerate(abandoned):
        orders.create(
            CreditOrder.from_quote(
                order_id,
                customer.uid,
                quote_purchase(100_00),
                provider="razorpay",
                provider_order_id=f"order_unknown{n:03d}",  # the sandbox answers 400
                created_at=two_days_ago + timedelta(seconds=n),
            )
        )
    order = purchase(private, customer).json()
    pay_in_sandbox(private, order["provider_order_id"])

    runs = [reconcile(private, scheduler, older_than_seconds=0, limit=100) for _ in range(2)]
    assert order["order_id"] in runs[1], "the paid order was not reached in the first two runs"
    assert runs[1][order["order_id"]] == "granted"
    assert balance(private, customer) == BASIC_GRANT
    assert [runs[0].get(o) for o in abandoned[:100]] == ["refused"] * 100


# --- providers down or timing out --------------------------------------------------------


def test_razorpay_down_purchase_is_502_and_nothing_is_left_behind(
    private: FaultStack, customer: User
) -> None:
    with stopped(private, "razorpay", private.start_razorpay):
        assert_error(purchase(private, customer), 502, "provider_error")
        orders = call(private, "GET", "/api/v1/credits/orders", customer.headers).json()
        assert orders["data"] == []
        assert balance(private, customer) == 0
    retried = purchase(private, customer)
    assert retried.status_code == 201, retried.text


def test_verify_while_razorpay_times_out_is_502_and_the_order_stays_payable(
    private: FaultStack, customer: User
) -> None:
    order = purchase(private, customer).json()
    checkout = pay_in_sandbox(private, order["provider_order_id"])
    with frozen(private, "razorpay"):
        verify = call(private, "POST", "/api/v1/payments/verify", customer.headers, json=checkout)
        assert_error(verify, 502, "provider_error")
        assert order_status(private, customer, order["order_id"]) == "created"
        assert balance(private, customer) == 0
    again = call(private, "POST", "/api/v1/payments/verify", customer.headers, json=checkout)
    assert again.status_code == 200, again.text
    assert again.json()["credits_granted"] == BASIC_GRANT
    assert balance(private, customer) == BASIC_GRANT


def test_stripe_down_payment_and_purchase_are_502(private: FaultStack, customer: User) -> None:
    import stripe

    local = stripe.StripeClient(
        private.stripe_secret_key, base_addresses={"api": private.stripe_url}
    )
    pm = payment_method(local, CARD_OK)
    body = {"amount": 1000, "currency": "sgd", "payment_method": pm}
    with stopped(private, "localstripe", private.start_stripe):
        processed = call(private, "POST", "/api/payment/process", customer.headers, json=body)
        assert_error(processed, 502, "provider_error")
        assert_error(
            purchase(private, customer, amount=2000, currency="usd"), 502, "provider_error"
        )
        orders = call(private, "GET", "/api/v1/credits/orders", customer.headers).json()
        assert orders["data"] == []
    with frozen(private, "localstripe"):
        processed = call(private, "POST", "/api/payment/process", customer.headers, json=body)
        assert_error(processed, 502, "provider_error")
    retried = purchase(private, customer, amount=2000, currency="usd")
    assert retried.status_code == 201, retried.text


# --- Firestore unavailable ---------------------------------------------------------------


def test_firestore_timing_out_is_503_and_an_open_order_completes_afterwards(
    private: FaultStack,
    customer: User,
    scheduler: dict[str, str],
    metering: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = purchase(private, customer).json()
    checkout = pay_in_sandbox(private, order["provider_order_id"])
    with frozen(private, "firestore"):
        for response in (
            call(private, "GET", "/api/v1/credits/balance", customer.headers),
            call(private, "POST", "/api/v1/payments/verify", customer.headers, json=checkout),
            call(private, "POST", "/api/v1/reconcile", scheduler, json={"older_than_seconds": 0}),
            call(private, "POST", "/api/v1/usage", metering, json=usage(customer)),
        ):
            assert_error(response, 503, "unavailable")
    # Nothing half-written: the order is still payable, and paying it grants once.
    assert order_status(private, customer, order["order_id"]) == "created"
    verify = call(private, "POST", "/api/v1/payments/verify", customer.headers, json=checkout)
    assert verify.status_code == 200, verify.text
    assert balance(private, customer) == BASIC_GRANT
    assert audit_private(private, monkeypatch) == []


def test_firestore_down_is_503_and_service_resumes_when_it_is_back(
    private: FaultStack, customer: User, scheduler: dict[str, str], metering: dict[str, str]
) -> None:
    with stopped(private, "firestore", private.start_firestore):
        for response in (
            call(private, "GET", "/api/v1/credits/balance", customer.headers),
            purchase(private, customer),
            call(private, "POST", "/api/v1/usage", metering, json=usage(customer)),
            call(private, "POST", "/api/v1/reconcile", scheduler, json={}),
        ):
            assert_error(response, 503, "unavailable")
    # A restarted emulator starts empty: assert on behaviour, not on earlier data.
    ready = f"{private.gateway_url}/api/v1/health/ready"
    assert eventually(lambda: requests.get(ready, timeout=10).status_code == 200, timeout=60)
    assert balance(private, customer) == 0
    assert purchase(private, customer).status_code == 201


def usage(user: User) -> dict[str, Any]:
    return {"user_id": user.uid, "service": "faults", "amount": 1, "event_id": str(time.time_ns())}
