"""Fixtures: one local stack per test session, and a fresh project id and users per test.

The stack (Firestore emulator, Auth emulator, gateway) starts on free ports the first time a test
asks for it, and stops when the session ends. Unit tests never start it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devstack.stack import Ports, Stack
from shared import bootstrap
from shared.config import get_settings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give each test its own os.environ, settings and wiring."""
    saved = dict(os.environ)
    get_settings.cache_clear()
    bootstrap.override(None)
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()
    bootstrap.override(None)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The whole suite shares one emulator on a 2-core machine: give Firestore calls more time
    # than production's default before they count as an outage (fault tests set their own).
    local = Stack(
        ports=Ports.free(),
        state_dir=tmp_path_factory.mktemp("stack"),
        settings_env={"FIRESTORE_TIMEOUT_SECONDS": "30"},
        # Tests call the scheduled jobs themselves: a background run would race what they assert
        # (tests/e2e/test_local_stack.py runs a stack with its scheduler on).
        run_scheduled_jobs=False,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def stack_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Point this process's SDKs at the stack."""
    for name, value in stack.client_env().items():
        monkeypatch.setenv(name, value)
    return stack


@pytest.fixture
def project_id(stack_env: Stack) -> str:
    """A Firestore project of this test's own: the emulator keeps state per project id."""
    return f"demo-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def firestore_client(project_id: str):
    from google.cloud import firestore

    return firestore.Client(project=project_id)


@dataclass(frozen=True)
class User:
    uid: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# Every credential the suite hands out, so the log scan can prove none was ever logged.
ISSUED_SECRETS: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the log scan last: it reads the logs the whole suite wrote."""
    items.sort(key=lambda item: item.get_closest_marker("after_everything") is not None)


def sign_up(stack: Stack, email: str | None = None) -> User:
    """Create a user in the Auth emulator over its REST API, as a client app would."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.test"
    response = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=demo-key",
        json={"email": email, "password": "correct-horse-9", "returnSecureToken": True},
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    ISSUED_SECRETS.update({body["idToken"], body["refreshToken"]})
    return User(uid=body["localId"], email=email, token=body["idToken"])


@pytest.fixture
def user(stack: Stack) -> User:
    return sign_up(stack)


@pytest.fixture
def gateway(stack: Stack) -> str:
    return stack.gateway_url


@pytest.fixture
def stripe_client(stack: Stack) -> Any:
    """The official Stripe SDK pointed at the stack's localstripe, as a client app's backend."""
    import stripe

    return stripe.StripeClient(
        stack.stripe_secret_key, base_addresses={"api": stack.stripe_url}, max_network_retries=0
    )


@pytest.fixture
def stack_firestore(stack_env: Stack) -> Any:
    """A Firestore client on the project the gateway writes to (the stack's own)."""
    from google.cloud import firestore

    return firestore.Client(project=stack_env.project)


# --- Metering: service identity tokens, the gateway's ledger, polling ---------------------------


@pytest.fixture(scope="session")
def service_tokens(stack: Stack):
    """Mints service-account ID tokens with the stack's local key (Google's shape and claims)."""
    from devstack.service_tokens import ServiceTokenIssuer

    return ServiceTokenIssuer.load(stack.service_key_path)


@pytest.fixture
def service_headers(stack: Stack, service_tokens) -> dict[str, str]:
    """Authorization of the allow-listed metering service, for /api/v1/usage and /holds."""
    from devstack.stack import METERING_SERVICE_EMAIL

    token = service_tokens.mint(METERING_SERVICE_EMAIL, stack.service_audience)
    return {"Authorization": f"Bearer {token}"}


def service_headers_for(stack: Stack, email: str) -> dict[str, str]:
    """Authorization of the service account ``email``, minted with the stack's local key."""
    from devstack.service_tokens import ServiceTokenIssuer

    token = ServiceTokenIssuer.load(stack.service_key_path).mint(email, stack.service_audience)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def gateway_ledger(stack_env: Stack):
    """The ledger of the gateway's own project (to give a test user credits directly)."""
    from google.cloud import firestore

    from shared.adapters.firestore_ledger import FirestoreLedger

    return FirestoreLedger(firestore.Client(project=stack_env.project))


def eventually(check, timeout: float = 10.0, interval: float = 0.1):
    """Poll ``check`` until it returns a truthy value (returned) or ``timeout`` passes (None)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@dataclass(frozen=True)
class RazorpaySandbox:
    """The stack's Razorpay sandbox, as a customer paying in Checkout and as Razorpay itself."""

    stack: Stack

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.post(f"{self.stack.razorpay_url}{path}", json=body or {}, timeout=15)

    def pay(self, razorpay_order_id: str, webhooks: bool = False) -> dict[str, str]:
        """Pay an order as Checkout would; return what Checkout hands the client."""
        response = self.post(f"/_sandbox/orders/{razorpay_order_id}/pay", {"webhooks": webhooks})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def send(self, event: str, **ids: str) -> dict[str, object]:
        """Have the sandbox sign and deliver one event to the gateway now."""
        response = self.post("/_sandbox/webhooks/send", {"event": event, **ids})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def replay(self, event_id: str) -> dict[str, object]:
        response = self.post("/_sandbox/webhooks/send", {"event_id": event_id})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_delivered(self) -> None:
        assert self.post("/_sandbox/webhooks/wait", {"timeout": 20}).json()["delivered"]

    @property
    def client(self):  # razorpay.Client; the SDK is untyped
        import razorpay

        return razorpay.Client(
            auth=(self.stack.razorpay_key_id, self.stack.razorpay_key_secret),
            base_url=self.stack.razorpay_url,
        )


@pytest.fixture
def razorpay_sandbox(stack: Stack) -> RazorpaySandbox:
    return RazorpaySandbox(stack)


def make_admin(stack: Stack, user: User) -> User:
    """Give ``user`` the custom claim admin: true and sign in again for a token carrying it."""
    from firebase_admin import auth

    from shared.adapters.firebase_auth import build_firebase_app

    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = f"127.0.0.1:{stack.ports.auth}"
    auth.set_custom_user_claims(user.uid, {"admin": True}, app=build_firebase_app(stack.project))
    response = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword"
        "?key=demo-key",
        json={"email": user.email, "password": "correct-horse-9", "returnSecureToken": True},
        timeout=10,
    )
    response.raise_for_status()
    return User(uid=user.uid, email=user.email, token=response.json()["idToken"])


@pytest.fixture
def admin(stack_env: Stack) -> User:
    return make_admin(stack_env, sign_up(stack_env))
