"""An admin refunds a credit purchase through its provider: Razorpay (the sandbox, with its
refund idempotency header) or Stripe (localstripe). The credits come back once, whichever of our
answer and the provider's webhook comes first, and a retry after a lost answer refunds once.

The stack here is the module's own: our functions reach Razorpay and Stripe through a
``LossyProxy`` each, which on cue lets a call happen and loses its answer; tests count what
happened at the providers directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import Ports, Stack
from tests.conftest import RazorpaySandbox, User, make_admin, sign_up
from tests.e2e.lossy_proxy import LossyProxy
from tests.e2e.stripe_helpers import (
    CARD_OK,
    CARD_REFUND_FAILS,
    CARD_REFUND_WAITS_THEN_FAILS,
    payment_method,
)
from tests.e2e.test_stripe_webhooks import event, send

pytestmark = pytest.mark.stack

PROVIDER_TIMEOUT_SECONDS = 1
RAZORPAY_REFUND = r"^/v1/payments/[^/]+/refund$"
STRIPE_REFUNDS = r"^/v1/refunds$"
INR_500 = {"amount": 500_00, "currency": "INR"}  # 59_000 paise: 50_000 + 5_000 credit units
INR_GRANTED, INR_TOTAL = 55_000, 59_000
USD_20 = {"amount": 2000, "currency": "usd"}  # 166_500 + 24_975 credit units
USD_GRANTED = 191_475


@dataclass
class RefundStack(Stack):
    stripe_proxy: str = ""
    razorpay_proxy: str = ""

    def client_env(self) -> dict[str, str]:
        # Our functions reach the providers through the proxies; tests reach them directly.
        through_proxies = {
            "STRIPE_API_BASE": self.stripe_proxy,
            "STRIPE_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT_SECONDS),
            "RAZORPAY_BASE_URL": self.razorpay_proxy,
            "RAZORPAY_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT_SECONDS),
        }
        return {**super().client_env(), **through_proxies}


@dataclass(frozen=True)
class Proxies:
    stripe: LossyProxy
    razorpay: LossyProxy

    def lose_nothing(self) -> None:
        self.stripe.lose_answers_to(None)
        self.razorpay.lose_answers_to(None)


@pytest.fixture(scope="module")
def refund_stack(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RefundStack, Proxies]]:
    shared = {"auth": stack.ports.auth, "service_certs": stack.ports.service_certs}
    local = RefundStack(
        ports=replace(Ports.free(), **shared), state_dir=tmp_path_factory.mktemp("refunds")
    )
    hold = PROVIDER_TIMEOUT_SECONDS + 0.5
    proxies = Proxies(LossyProxy(local.stripe_url, hold), LossyProxy(local.razorpay_url, hold))
    local.stripe_proxy, local.razorpay_proxy = proxies.stripe.url, proxies.razorpay.url
    local.state_dir.mkdir(parents=True, exist_ok=True)
    proxies.stripe.start()
    proxies.razorpay.start()
    try:
        local.start_firestore()
        local.start_razorpay()
        local.start_stripe()
        local.start_gateway()
        local.register_stripe_webhook()
        yield local, proxies
    finally:
        proxies.lose_nothing()
        local.stop()
        proxies.stripe.stop()
        proxies.razorpay.stop()


@pytest.fixture
def private(refund_stack: tuple[RefundStack, Proxies]) -> Iterator[RefundStack]:
    yield refund_stack[0]
    refund_stack[1].lose_nothing()


@pytest.fixture
def proxies(refund_stack: tuple[RefundStack, Proxies]) -> Proxies:
    return refund_stack[1]


@pytest.fixture
def customer(stack: Stack) -> User:
    return sign_up(stack)


@pytest.fixture(scope="module")
def admin_user(stack: Stack) -> User:
    return make_admin(stack, sign_up(stack))


@pytest.fixture
def razorpay(private: RefundStack) -> RazorpaySandbox:
    return RazorpaySandbox(private)


@pytest.fixture
def localstripe(private: RefundStack) -> Any:
    """The Stripe SDK straight at localstripe (not through the proxy), as Stripe.js and to count."""
    import stripe

    return stripe.StripeClient(
        private.stripe_secret_key, base_addresses={"api": private.stripe_url}
    )


# --- steps ---------------------------------------------------------------------------------


def call(private: Stack, method: str, path: str, user: User, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, f"{private.gateway_url}{path}", headers=user.headers, timeout=60, **kwargs
    )


def refund(
    private: Stack, admin: User, order_id: str, key: str | None = None, **body: Any
) -> requests.Response:
    headers = {**admin.headers, **({"Idempotency-Key": key} if key else {})}
    return requests.post(
        f"{private.gateway_url}/api/v1/admin/orders/{order_id}/refund",
        json={"reason": "customer asked", **body},
        headers=headers,
        timeout=60,
    )


def balance(private: Stack, user: User) -> int:
    response = call(private, "GET", "/api/v1/credits/balance", user)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


def wait_for_balance(private: Stack, user: User, expected: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while (got := balance(private, user)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def refund_entries(private: Stack, user: User, kind: str = "refund") -> list[int]:
    response = call(private, "GET", "/api/v1/transactions", user, params={"type": kind})
    assert response.status_code == 200, response.text
    return sorted(int(e["amount"]) for e in response.json()["data"])


def order_of(private: Stack, user: User, order_id: str) -> dict[str, Any]:
    response = call(private, "GET", "/api/v1/payments/status", user, params={"order_id": order_id})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bought_with_razorpay(private: Stack, user: User, razorpay: RazorpaySandbox) -> str:
    """A paid ₹500 Razorpay order with its credits granted; returns our order id."""
    started = call(private, "POST", "/api/v1/credits/purchase", user, json=INR_500)
    assert started.status_code == 201, started.text
    paid = razorpay.pay(started.json()["provider_order_id"])
    verified = call(private, "POST", "/api/v1/payments/verify", user, json=paid)
    assert verified.status_code == 200, verified.text
    assert balance(private, user) == INR_GRANTED
    return str(started.json()["order_id"])


def bought_with_stripe(private: Stack, user: User, localstripe: Any, card: str = CARD_OK) -> str:
    """A paid $20 Stripe order (confirmed as Stripe.js would), granted by Stripe's webhook."""
    started = call(private, "POST", "/api/v1/credits/purchase", user, json=USD_20)
    assert started.status_code == 201, started.text
    intent = started.json()["provider_order_id"]
    pm = payment_method(localstripe, card)
    localstripe.v1.payment_intents.update(intent, params={"payment_method": pm})
    localstripe.v1.payment_intents.confirm(intent)
    assert wait_for_balance(private, user, USD_GRANTED) == USD_GRANTED
    return str(started.json()["order_id"])


def razorpay_refunds(
    razorpay: RazorpaySandbox, private: Stack, user: User, order_id: str
) -> list[dict[str, Any]]:
    payment_id = order_of(private, user, order_id)["provider_payment_id"]
    return list(razorpay.client.payment.fetch_multiple_refund(payment_id)["items"])


def stripe_refunds(localstripe: Any, intent: str) -> list[Any]:
    page = localstripe.v1.refunds.list(params={"payment_intent": intent, "limit": 100})
    return list(page.auto_paging_iter())


def charge_refunded(private: Stack, intent: str) -> None:
    """Stripe's charge.refunded for the intent (localstripe sends none), signed, delivered."""
    charge = {"id": f"ch_{intent[3:]}", "object": "charge", "payment_intent": intent,
              "amount": 2000, "currency": "usd", "metadata": {}}  # fmt: skip
    answer = send(
        private.gateway_url, event("charge.refunded", charge), private.stripe_webhook_secret
    )
    assert answer.status_code == 200, answer.text


# --- Razorpay ------------------------------------------------------------------------------


def test_a_razorpay_refund_answers_with_the_credits_taken_and_its_webhooks_take_no_more(
    private: RefundStack, customer: User, admin_user: User, razorpay: RazorpaySandbox
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)

    answer = refund(private, admin_user, order_id, key=f"half-{order_id}", amount=INR_TOTAL // 2)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    [made] = razorpay_refunds(razorpay, private, customer, order_id)
    assert body == {
        "order_id": order_id, "provider": "razorpay", "provider_refund_id": made["id"],
        "amount": INR_TOTAL // 2, "currency": "inr", "status": "succeeded",
        "credits_taken_back": INR_GRANTED // 2, "reason": "customer asked",
    }  # fmt: skip
    razorpay.wait_delivered()  # refund.created and refund.processed, signed, to our webhook
    sent = requests.get(f"{private.razorpay_url}/_sandbox/webhooks/sent", timeout=10).json()
    assert [(h["event"], h["status_code"]) for h in sent][-2:] == [
        ("refund.created", 200),
        ("refund.processed", 200),
    ]
    assert refund_entries(private, customer) == [-INR_GRANTED // 2]
    assert balance(private, customer) == INR_GRANTED // 2
    record = order_of(private, customer, order_id)["refunds"][made["id"]]
    assert (record["amount"], record["credits"]) == (INR_TOTAL // 2, INR_GRANTED // 2)

    again = refund(private, admin_user, order_id, key=f"half-{order_id}", amount=INR_TOTAL // 2)
    assert (again.status_code, again.json()) == (201, body)  # the first answer, replayed
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(razorpay_refunds(razorpay, private, customer, order_id)) == 1


def test_razorpays_webhook_first_then_the_retried_answer_takes_the_credits_once(
    private: RefundStack,
    proxies: Proxies,
    customer: User,
    admin_user: User,
    razorpay: RazorpaySandbox,
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    key = f"all-{order_id}"
    proxies.razorpay.lose_answers_to(RAZORPAY_REFUND)
    lost = refund(private, admin_user, order_id, key=key)
    assert lost.status_code == 502, lost.text
    [made] = razorpay_refunds(razorpay, private, customer, order_id)  # Razorpay did refund
    razorpay.wait_delivered()  # its refund.processed reached us first
    assert wait_for_balance(private, customer, 0) == 0

    proxies.razorpay.lose_answers_to(None)
    retry = refund(private, admin_user, order_id, key=key)

    assert retry.status_code == 200, retry.text  # the refund the lost attempt made
    assert (retry.json()["provider_refund_id"], retry.json()["credits_taken_back"]) == (
        made["id"],
        INR_GRANTED,
    )
    assert len(razorpay_refunds(razorpay, private, customer, order_id)) == 1
    assert refund_entries(private, customer) == [-INR_GRANTED]


def test_a_razorpay_refund_lost_without_a_key_is_counted_before_the_next_one(
    private: RefundStack,
    proxies: Proxies,
    customer: User,
    admin_user: User,
    razorpay: RazorpaySandbox,
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    proxies.razorpay.lose_answers_to(RAZORPAY_REFUND)
    assert refund(private, admin_user, order_id, amount=20_000).status_code == 502
    proxies.razorpay.lose_answers_to(None)

    rest = refund(private, admin_user, order_id)
    too_much = refund(private, admin_user, order_id, amount=1)

    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == INR_TOTAL - 20_000  # the lost refund counted, never twice
    assert too_much.status_code == 400, too_much.text
    assert "amount" in too_much.json()["error"]["details"]["fields"]
    made = razorpay_refunds(razorpay, private, customer, order_id)
    assert sorted(r["amount"] for r in made) == [20_000, 39_000]
    assert wait_for_balance(private, customer, 0) == 0  # all of it, each refund once
    assert sum(refund_entries(private, customer)) == -INR_GRANTED


def test_a_razorpay_refund_that_fails_gives_the_credits_back(
    private: RefundStack, customer: User, admin_user: User, razorpay: RazorpaySandbox
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    answer = refund(private, admin_user, order_id, amount=INR_TOTAL)
    assert answer.status_code == 201, answer.text
    refund_id = answer.json()["provider_refund_id"]
    razorpay.wait_delivered()
    assert balance(private, customer) == 0

    failed = razorpay.post(f"/_sandbox/refunds/{refund_id}/fail")  # the bank could not pay it
    assert failed.status_code == 200, failed.text
    razorpay.wait_delivered()  # refund.failed

    assert wait_for_balance(private, customer, INR_GRANTED) == INR_GRANTED
    restored = order_of(private, customer, order_id)["refunds"][refund_id]["restored"]
    assert (restored["credits"], restored["status"]) == (INR_GRANTED, "failed")
    assert refund_entries(private, customer) == [-INR_GRANTED]
    assert refund_entries(private, customer, "refund_reversal") == [INR_GRANTED]


def test_a_failed_razorpay_refund_gives_spent_credits_back_to_the_expiring_grant_they_came_from(
    private: RefundStack, customer: User, admin_user: User, razorpay: RazorpaySandbox
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    spent = call(
        private, "POST", "/api/v1/admin/credits/adjust", admin_user,
        json={"user_id": customer.uid, "amount": -INR_GRANTED, "reason": "spent"},
    )  # fmt: skip
    assert spent.status_code == 201, spent.text
    expires_at = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    granted = call(
        private, "POST", "/api/v1/admin/credits/grant", admin_user,
        json={"user_id": customer.uid, "amount": 10_000, "reason": "welcome back",
              "expires_at": expires_at.isoformat()},
    )  # fmt: skip
    assert granted.status_code == 201, granted.text
    answer = refund(private, admin_user, order_id)  # the clawback overdraws by 45,000
    assert answer.status_code == 201, answer.text
    razorpay.wait_delivered()
    assert balance(private, customer) == 10_000 - INR_GRANTED

    refund_id = answer.json()["provider_refund_id"]
    failed = razorpay.post(f"/_sandbox/refunds/{refund_id}/fail")  # the bank could not pay it
    assert failed.status_code == 200, failed.text
    razorpay.wait_delivered()  # refund.failed

    assert wait_for_balance(private, customer, 10_000) == 10_000
    account = call(private, "GET", "/api/v1/credits/account", customer).json()
    # Still the grant that expires in 10 days, not 10,000 credits that never expire.
    grants = [(g["remaining"], g["expires_at"]) for g in account["grants"]]
    assert [(n, at and datetime.fromisoformat(at)) for n, at in grants] == [(10_000, expires_at)]
    assert refund_entries(private, customer, "refund_reversal") == [INR_GRANTED]


# --- Stripe --------------------------------------------------------------------------------


def test_stripe_partial_refunds_then_charge_refunded_take_the_credits_once_and_no_more(
    private: RefundStack, customer: User, admin_user: User, localstripe: Any
) -> None:
    order_id = bought_with_stripe(private, customer, localstripe)
    intent = order_of(private, customer, order_id)["provider_order_id"]

    quarter = refund(private, admin_user, order_id, key=f"q-{order_id}", amount=500)
    charge_refunded(private, intent)  # Stripe's webhook, after our answer
    rest = refund(private, admin_user, order_id, key=f"r-{order_id}")
    charge_refunded(private, intent)
    over = refund(private, admin_user, order_id, amount=1)

    assert quarter.status_code == 201, quarter.text
    assert (quarter.json()["provider"], quarter.json()["status"]) == ("stripe", "succeeded")
    assert quarter.json()["credits_taken_back"] == 47_868  # a quarter, rounded down
    assert rest.status_code == 201, rest.text
    assert (rest.json()["amount"], rest.json()["credits_taken_back"]) == (1500, 143_607)
    assert over.status_code == 400, over.text
    assert "amount" in over.json()["error"]["details"]["fields"]
    assert sorted(r.amount for r in stripe_refunds(localstripe, intent)) == [500, 1500]
    assert refund_entries(private, customer) == [-143_607, -47_868]
    assert balance(private, customer) == 0


def test_stripes_webhook_first_then_the_retried_answer_refunds_and_takes_once(
    private: RefundStack, proxies: Proxies, customer: User, admin_user: User, localstripe: Any
) -> None:
    order_id = bought_with_stripe(private, customer, localstripe)
    intent = order_of(private, customer, order_id)["provider_order_id"]
    key = f"all-{order_id}"
    proxies.stripe.lose_answers_to(STRIPE_REFUNDS)
    lost = refund(private, admin_user, order_id, key=key)
    assert lost.status_code == 502, lost.text
    [made] = stripe_refunds(localstripe, intent)  # Stripe did refund
    charge_refunded(private, intent)  # its webhook reaches us before any answer
    assert balance(private, customer) == 0

    proxies.stripe.lose_answers_to(None)
    retry = refund(private, admin_user, order_id, key=key)

    assert retry.status_code == 200, retry.text
    assert (retry.json()["provider_refund_id"], retry.json()["credits_taken_back"]) == (
        made.id,
        USD_GRANTED,
    )
    assert len(stripe_refunds(localstripe, intent)) == 1
    assert refund_entries(private, customer) == [-USD_GRANTED]


def test_a_stripe_refund_that_fails_later_gives_the_credits_back_once(
    private: RefundStack, customer: User, admin_user: User, localstripe: Any
) -> None:
    order_id = bought_with_stripe(private, customer, localstripe, card=CARD_REFUND_FAILS)

    answer = refund(private, admin_user, order_id)

    # Stripe reports the refund succeeded at first: the credits go at once...
    assert answer.status_code == 201, answer.text
    assert (answer.json()["status"], answer.json()["credits_taken_back"]) == (
        "succeeded",
        USD_GRANTED,
    )
    assert balance(private, customer) == 0
    # ...then it fails (refund.updated and refund.failed from Stripe): they come back, once.
    assert wait_for_balance(private, customer, USD_GRANTED) == USD_GRANTED
    refund_id = answer.json()["provider_refund_id"]
    intent = order_of(private, customer, order_id)["provider_order_id"]
    [failed] = stripe_refunds(localstripe, intent)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    time.sleep(2.5)  # both events have been delivered by now
    assert refund_entries(private, customer) == [-USD_GRANTED]
    assert refund_entries(private, customer, "refund_reversal") == [USD_GRANTED]
    restored = order_of(private, customer, order_id)["refunds"][refund_id]["restored"]
    assert (restored["credits"], restored["status"]) == (USD_GRANTED, "failed")
    again = refund(private, admin_user, order_id)  # the money is refundable again
    assert again.status_code == 201, again.text
    assert again.json()["amount"] == 2000


def test_a_stripe_refund_waiting_for_action_keeps_its_credits_until_it_fails_for_good(
    private: RefundStack, customer: User, admin_user: User, localstripe: Any
) -> None:
    order_id = bought_with_stripe(private, customer, localstripe, card=CARD_REFUND_WAITS_THEN_FAILS)
    intent = order_of(private, customer, order_id)["provider_order_id"]

    answer = refund(private, admin_user, order_id)  # pending: the credits go at once
    assert answer.status_code == 201, answer.text
    assert answer.json()["credits_taken_back"] == USD_GRANTED

    # A second later the refund waits for the customer's action: not final.
    deadline = time.monotonic() + 10
    while stripe_refunds(localstripe, intent)[0].status != "requires_action":
        assert time.monotonic() < deadline, "the refund never asked for action"
        time.sleep(0.1)
    charge_refunded(private, intent)  # a refund event for the intent, applied before we go on
    assert stripe_refunds(localstripe, intent)[0].status == "requires_action"  # still
    assert balance(private, customer) == 0
    assert refund_entries(private, customer, "refund_reversal") == []

    # Then it fails (refund.updated, refund.failed): the credits come back, once.
    assert wait_for_balance(private, customer, USD_GRANTED) == USD_GRANTED
    time.sleep(2.5)  # both events have been delivered by now
    assert refund_entries(private, customer) == [-USD_GRANTED]
    assert refund_entries(private, customer, "refund_reversal") == [USD_GRANTED]


# --- refused requests ----------------------------------------------------------------------


def test_bad_refund_requests_are_refused_naming_the_field_and_change_nothing(
    private: RefundStack, customer: User, admin_user: User, razorpay: RazorpaySandbox
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    unpaid = call(private, "POST", "/api/v1/credits/purchase", customer, json=INR_500).json()
    cases: list[tuple[str, dict[str, Any], int, str | None]] = [
        (order_id, {"amount": INR_TOTAL + 1}, 400, "amount"),
        (order_id, {"amount": 0}, 400, "amount"),
        (order_id, {"amount": 12.5}, 400, "amount"),
        (order_id, {"reason": ""}, 400, "reason"),
        (order_id, {"reason": "x" * 501}, 400, "reason"),
        (order_id, {"currency": "usd"}, 400, "currency"),
        (unpaid["order_id"], {}, 400, "order_id"),
        (f"ord_{uuid.uuid4().hex}", {}, 404, None),
    ]
    for target, body, status, field in cases:
        answer = refund(private, admin_user, target, **body)
        assert answer.status_code == status, (body, answer.text)
        if field is not None:
            assert field in answer.json()["error"]["details"]["fields"], (body, answer.text)
    no_reason = requests.post(
        f"{private.gateway_url}/api/v1/admin/orders/{order_id}/refund",
        json={}, headers=admin_user.headers, timeout=30,
    )  # fmt: skip
    assert (
        no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["details"]["fields"]
    )
    not_admin = refund(private, customer, order_id)
    assert not_admin.status_code == 403, not_admin.text
    assert razorpay_refunds(razorpay, private, customer, order_id) == []
    assert balance(private, customer) == INR_GRANTED


def test_concurrent_refunds_of_one_order_never_refund_more_than_it_was_paid(
    private: RefundStack, customer: User, admin_user: User, razorpay: RazorpaySandbox
) -> None:
    order_id = bought_with_razorpay(private, customer, razorpay)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: refund(private, admin_user, order_id, amount=20_000), range(4))
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 2, [a.text for a in answers]  # 20_000 fits twice in 59_000
    assert set(statuses) <= {201, 400, 503}, [a.text for a in answers]
    made = razorpay_refunds(razorpay, private, customer, order_id)
    assert sorted(r["amount"] for r in made) == [20_000, 20_000]
    taken = sum(a.json()["credits_taken_back"] for a in answers if a.status_code == 201)
    assert -sum(refund_entries(private, customer)) == taken
