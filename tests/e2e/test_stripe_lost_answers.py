"""A provider answer lost after Stripe acted: the retry charges and refunds once.

Stripe here is localstripe behind ``LossyProxy``, which forwards a call, lets localstripe apply
it, then holds the connection past our Stripe timeout and drops it (the SDK's own retries meet
the same fate), so the client gets a 502 for something that did happen. What happened is then
counted at localstripe itself: one PaymentIntent, one refund.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from devstack.stack import Ports, Stack
from tests.conftest import User, sign_up
from tests.e2e.lossy_proxy import LossyProxy
from tests.e2e.stripe_helpers import CARD_OK, payment_method

pytestmark = pytest.mark.stack

STRIPE_TIMEOUT_SECONDS = 1
CREATE = r"^/v1/payment_intents$"
CONFIRM = r"^/v1/payment_intents/[^/]+/confirm$"
REFUNDS = r"^/v1/refunds$"


@dataclass
class LossyStack(Stack):
    proxy_url: str = ""

    def client_env(self) -> dict[str, str]:
        # Our functions reach Stripe through the proxy; tests count at localstripe directly.
        lossy = {
            "STRIPE_API_BASE": self.proxy_url,
            "STRIPE_TIMEOUT_SECONDS": str(STRIPE_TIMEOUT_SECONDS),
        }
        return {**super().client_env(), **lossy}


@pytest.fixture(scope="module")
def lossy(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LossyStack, LossyProxy]]:
    shared = {"auth": stack.ports.auth, "service_certs": stack.ports.service_certs}
    local = LossyStack(
        ports=replace(Ports.free(), **shared), state_dir=tmp_path_factory.mktemp("lossy")
    )
    proxy = LossyProxy(local.stripe_url, hold_seconds=STRIPE_TIMEOUT_SECONDS + 0.5)
    local.proxy_url = proxy.url
    local.state_dir.mkdir(parents=True, exist_ok=True)
    proxy.start()
    try:
        local.start_firestore()
        local.start_stripe()
        local.start_gateway()
        yield local, proxy
    finally:
        proxy.lose_answers_to(None)
        local.stop()
        proxy.stop()


@pytest.fixture
def private(lossy: tuple[LossyStack, LossyProxy]) -> Iterator[LossyStack]:
    yield lossy[0]
    lossy[1].lose_answers_to(None)


@pytest.fixture
def proxy(lossy: tuple[LossyStack, LossyProxy]) -> LossyProxy:
    return lossy[1]


@pytest.fixture
def customer(stack: Stack) -> User:
    return sign_up(stack)


@pytest.fixture
def localstripe(private: LossyStack) -> Any:
    """The Stripe SDK straight at localstripe (not through the proxy), to count what exists."""
    import stripe

    return stripe.StripeClient(
        private.stripe_secret_key, base_addresses={"api": private.stripe_url}
    )


def post(
    private: Stack, path: str, user: User, body: dict[str, Any], key: str | None
) -> requests.Response:
    headers = {**user.headers, **({"Idempotency-Key": key} if key else {})}
    return requests.post(f"{private.gateway_url}{path}", json=body, headers=headers, timeout=60)


def intents_tagged(localstripe: Any, tag: str) -> list[Any]:
    page = localstripe.v1.payment_intents.list(params={"limit": 100})
    return [pi for pi in page.auto_paging_iter() if pi.to_dict()["metadata"].get("tag") == tag]


def refunds_at_stripe(localstripe: Any, pi: str) -> list[int]:
    page = localstripe.v1.refunds.list(params={"payment_intent": pi, "limit": 100})
    return [int(r.amount) for r in page.auto_paging_iter()]


def paid(private: Stack, user: User, localstripe: Any, amount: int = 1000) -> str:
    body = {
        "amount": amount,
        "currency": "sgd",
        "payment_method": payment_method(localstripe, CARD_OK),
    }
    response = post(private, "/api/payment/process", user, body, key=None)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    return str(response.json()["payment_intent_id"])


def payment(private: Stack, user: User, pi: str) -> dict[str, Any]:
    response = requests.get(
        f"{private.gateway_url}/api/payment/{pi}", headers=user.headers, timeout=10
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("lost_call", [CREATE, CONFIRM], ids=["create", "confirm"])
def test_a_payment_whose_stripe_answer_was_lost_is_charged_once_on_retry(
    private: LossyStack, proxy: LossyProxy, customer: User, localstripe: Any, lost_call: str
) -> None:
    tag = uuid.uuid4().hex
    body = {
        "amount": 1500,
        "currency": "sgd",
        "payment_method": payment_method(localstripe, CARD_OK),
        "metadata": {"tag": tag},
    }
    key = f"pay-once-{tag}"
    proxy.lose_answers_to(lost_call)
    lost = post(private, "/api/payment/process", customer, body, key=key)
    assert lost.status_code == 502, lost.text
    [charged] = intents_tagged(localstripe, tag)  # Stripe did create it (and maybe charge it)

    proxy.lose_answers_to(None)
    retry = post(private, "/api/payment/process", customer, body, key=key)

    assert retry.status_code == 200, retry.text
    assert retry.json()["payment_intent_id"] == charged.id
    assert retry.json()["status"] == "succeeded"
    [once] = intents_tagged(localstripe, tag)
    assert (once.id, once.status) == (charged.id, "succeeded")


def test_a_refund_whose_answer_was_lost_is_refunded_once_on_retry(
    private: LossyStack, proxy: LossyProxy, customer: User, localstripe: Any
) -> None:
    pi = paid(private, customer, localstripe)
    body = {"payment_intent_id": pi, "amount": 300}
    proxy.lose_answers_to(REFUNDS)
    lost = post(private, "/api/refund/process", customer, body, key="refund-once")
    assert lost.status_code == 502, lost.text
    assert refunds_at_stripe(localstripe, pi) == [300]  # Stripe did refund

    proxy.lose_answers_to(None)
    retry = post(private, "/api/refund/process", customer, body, key="refund-once")

    assert retry.status_code == 200, retry.text
    assert retry.json()["amount"] == 300
    assert retry.json()["status"] == "succeeded"
    assert refunds_at_stripe(localstripe, pi) == [300]
    assert payment(private, customer, pi)["amount_refunded"] == 300


def test_a_refund_lost_without_a_key_is_settled_from_stripe_before_the_next_one(
    private: LossyStack, proxy: LossyProxy, customer: User, localstripe: Any
) -> None:
    pi = paid(private, customer, localstripe)
    proxy.lose_answers_to(REFUNDS)
    some = {"payment_intent_id": pi, "amount": 300}
    lost = post(private, "/api/refund/process", customer, some, key=None)
    assert lost.status_code == 502, lost.text
    proxy.lose_answers_to(None)

    rest = post(private, "/api/refund/process", customer, {"payment_intent_id": pi}, None)
    too_much = post(private, "/api/refund/process", customer, {"payment_intent_id": pi}, None)

    assert rest.status_code == 200, rest.text
    assert rest.json()["amount"] == 700  # the lost 300 counted as refunded, never twice
    assert too_much.status_code == 400, too_much.text
    assert sorted(refunds_at_stripe(localstripe, pi)) == [300, 700]
    assert payment(private, customer, pi)["amount_refunded"] == 1000  # the lost one is on record


def test_a_full_refund_that_never_reached_stripe_goes_through_on_retry(
    private: LossyStack, proxy: LossyProxy, customer: User, localstripe: Any
) -> None:
    pi = paid(private, customer, localstripe)
    body = {"payment_intent_id": pi}
    proxy.lose_answers_to(REFUNDS, forward=False)
    lost = post(private, "/api/refund/process", customer, body, key="refund-all")
    assert lost.status_code == 502, lost.text
    assert refunds_at_stripe(localstripe, pi) == []

    proxy.lose_answers_to(None)
    retry = post(private, "/api/refund/process", customer, body, key="refund-all")

    assert retry.status_code == 200, retry.text  # its own reservation, not "nothing left"
    assert retry.json()["amount"] == 1000
    assert refunds_at_stripe(localstripe, pi) == [1000]
    assert payment(private, customer, pi)["amount_refunded"] == 1000
