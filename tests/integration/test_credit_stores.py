"""Credit stores against the emulator: packages fallback, rate-limit slots, order state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.inprocess import invoke
from devstack.stack import Stack
from shared.access.rate_limits import RateLimit, enforce_rate_limit
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_orders import FirestoreOrders
from shared.adapters.firestore_packages import FirestorePackages
from shared.adapters.firestore_rate_limits import FirestoreSlotCounter
from shared.adapters.razorpay_gateway import RazorpayGateway
from shared.errors import RateLimited, Unavailable
from shared.ledger.entries import EntryType
from shared.payments.providers import OrderRefundGateway, ProviderOrder, ProviderRefund
from shared.payments.records import GatewayIntent, PaymentStatus
from shared.purchases.checkout import CreditPurchases, PurchaseRequest
from shared.purchases.crediting import grant_purchase_credits, mark_failed
from shared.purchases.orders import CreditOrder, OrderStatus
from shared.purchases.packages import DEFAULT_PACKAGES, packages_on_sale
from shared.purchases.pricing import quote_purchase
from tests.conftest import User

pytestmark = pytest.mark.stack


def test_packages_fall_back_to_defaults_until_some_are_stored(firestore_client) -> None:
    catalog = FirestorePackages(firestore_client)
    assert packages_on_sale(catalog) == list(DEFAULT_PACKAGES)

    packages = firestore_client.collection("credit_packages")
    packages.document("big").set({"name": "Big", "amount": 3_000_00, "active": True})
    packages.document("old").set({"name": "Old", "amount": 700_00, "active": False})
    packages.document("broken").set({"name": "Broken", "amount": 1})  # outside the rules
    assert [(p.id, p.amount) for p in packages_on_sale(catalog)] == [("big", 3_000_00)]


def test_rate_limit_slots_are_race_safe(firestore_client) -> None:
    counter = FirestoreSlotCounter(firestore_client)
    rule = RateLimit("purchase", limit=5, window_seconds=3600)
    now = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)

    def attempt(_: int) -> bool:
        try:
            enforce_rate_limit(counter, rule, "user-1", now)
        except RateLimited as error:
            assert error.retry_after_seconds == 3600 - 30
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(12)))
    assert results.count(True) == 5
    enforce_rate_limit(counter, rule, "user-2", now)  # other users have their own window
    enforce_rate_limit(counter, rule, "user-1", now + timedelta(hours=1))  # and a new window


def test_failed_mark_never_undoes_a_grant(firestore_client) -> None:
    orders = FirestoreOrders(firestore_client)
    ledger = FirestoreLedger(firestore_client)
    order = CreditOrder.from_quote(
        "ord_race",
        "user-race",
        quote_purchase(100_00),
        provider="razorpay",
        provider_order_id="order_race",
        created_at=datetime.now(UTC),
    )
    orders.create(order)
    with ThreadPoolExecutor(max_workers=4) as pool:
        grants = [
            pool.submit(
                grant_purchase_credits, ledger, order, "razorpay", "pay_1", now=order.created_at
            )
            for _ in range(2)
        ]
        fails = [pool.submit(mark_failed, orders, order, {"payment_id": "pay_0"}) for _ in range(2)]
    assert sorted(g.result().replayed for g in grants) == [False, True]
    for f in fails:
        f.result()
    stored = orders.get("ord_race")
    assert stored is not None and stored.status is OrderStatus.PAID
    assert [e.amount for e in ledger.entries("user-race")] == [100_00]


def test_purchase_rate_limit_answers_429_with_retry_after(
    stack_env: Stack, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PURCHASE_RATE_LIMIT", "2")
    body = {"package_id": "starter"}
    path = "/api/v1/credits/purchase"
    for _ in range(2):
        response = invoke("credits_purchase", "POST", path=path, headers=user.headers, json=body)
        assert response.status_code == 201, response.get_json()
    limited = invoke("credits_purchase", "POST", path=path, headers=user.headers, json=body)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def credit_purchases(
    firestore_client: Any,
    ledger: FirestoreLedger,
    orders: FirestoreOrders,
    stripe: Callable[[], OrderRefundGateway] | None = None,
) -> CreditPurchases:
    """The credits work over the emulator, with generous limits and only ``stripe`` wired."""
    return CreditPurchases(
        ledger=ledger,
        orders=orders,
        packages=FirestorePackages(firestore_client),
        razorpay=None,
        stripe=stripe,
        slots=FirestoreSlotCounter(firestore_client),
        purchase_limit=RateLimit("purchase", 1, 60),
        verify_limit=RateLimit("verify", 1, 60),
        clock=lambda: datetime.now(UTC),
        new_order_id=lambda: "unused",
    )


def test_stripe_paid_credit_order_goes_through_the_one_grant_path(firestore_client) -> None:
    orders = FirestoreOrders(firestore_client)
    ledger = FirestoreLedger(firestore_client)
    order = CreditOrder.from_quote(
        "ord_stripe",
        "user-stripe",
        quote_purchase(500_00),
        provider="stripe",
        provider_order_id="pi_123",
        created_at=datetime.now(UTC),
    )
    orders.create(order)
    purchases = credit_purchases(firestore_client, ledger, orders)

    def succeeded(intent_id: str, amount: int) -> GatewayIntent:
        return GatewayIntent(intent_id, amount, "inr", PaymentStatus.SUCCEEDED, None, amount)

    assert purchases.stripe_intent_event(succeeded("pi_123", 100), "evt_0")  # underpaid: flagged
    assert not purchases.stripe_intent_event(succeeded("pi_other", order.total), "evt_x")
    assert ledger.entries("user-stripe") == []
    for event in ("evt_1", "evt_2"):
        assert purchases.stripe_intent_event(succeeded("pi_123", order.total), event)
    assert [e.amount for e in ledger.entries("user-stripe")] == [50_000, 5_000]
    stored = orders.get("ord_stripe")
    assert stored is not None and stored.status is OrderStatus.PAID
    assert stored.provider_payment_id == "pi_123" and "payment_mismatch" in stored.flags


class ListedRefunds(OrderRefundGateway):
    """Stripe as our clawback logic sees it: the payment's refund list (real Stripe: e2e)."""

    name, key_id = "stripe", "pk"

    def __init__(self) -> None:
        self.refunds: list[ProviderRefund] = []

    def create_order(self, *args: object) -> ProviderOrder:
        raise AssertionError("not used")

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        return list(self.refunds)

    def refund_payment(self, *args: object) -> ProviderRefund:
        raise AssertionError("not used")


def test_a_new_refund_in_the_same_second_never_moves_a_settled_one(firestore_client) -> None:
    """Stripe stamps refunds in whole seconds: a second refund may list before the first."""
    from shared.payments.providers import ProviderRefund
    from shared.purchases.checkout import STRIPE

    orders, ledger, gateway = (
        FirestoreOrders(firestore_client),
        FirestoreLedger(firestore_client),
        ListedRefunds(),
    )
    uid = f"user-{uuid.uuid4().hex[:8]}"
    order = CreditOrder.from_quote(
        f"ord_{uid}",
        uid,
        quote_purchase(1_000_00),
        provider=STRIPE,
        provider_order_id=f"pi_{uid}",
        created_at=datetime.now(UTC),
    )
    orders.create(order)
    grant_purchase_credits(ledger, order, STRIPE, order.provider_order_id, now=order.created_at)
    purchases = credit_purchases(firestore_client, ledger, orders, stripe=lambda: gateway)
    granted = order.granted_credits  # 115,000: ₹1,000 of credits and 15 % bonus
    third = order.total // 3
    gateway.refunds = [ProviderRefund("re_z", third, 100, True)]
    purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)
    # The rest, same second, an id that sorts first, plus a failed refund that counts for nothing.
    gateway.refunds = [
        ProviderRefund("re_a", order.total - third, 100, True),
        ProviderRefund("re_f", order.total, 100, False),
        *gateway.refunds,
    ]
    for _ in range(2):  # and again: nothing more
        assert purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id) == 2
    entries = ledger.entries(uid)
    taken = [-e.amount for e in entries if e.type is EntryType.REFUND]
    assert taken == [granted * third // order.total, granted - granted * third // order.total]
    assert entries[-1].balance_after == 0


def test_a_refunds_clawback_episodes_are_kept_apart_on_the_order(firestore_client) -> None:
    """Taken, given back, taken again, given back again: each episode its own record and key."""
    from shared.payments.providers import (
        ProviderRefund,
        RefundStatus,
    )
    from shared.purchases.checkout import STRIPE

    orders, ledger, gateway = (
        FirestoreOrders(firestore_client),
        FirestoreLedger(firestore_client),
        ListedRefunds(),
    )
    uid = f"user-{uuid.uuid4().hex[:8]}"
    order = CreditOrder.from_quote(
        f"ord_{uid}", uid, quote_purchase(1_000_00), provider=STRIPE,
        provider_order_id=f"pi_{uid}", created_at=datetime.now(UTC),
    )  # fmt: skip
    orders.create(order)
    grant_purchase_credits(ledger, order, STRIPE, order.provider_order_id, now=order.created_at)
    purchases = credit_purchases(firestore_client, ledger, orders, stripe=lambda: gateway)
    granted = order.granted_credits
    statuses = [RefundStatus.PENDING, RefundStatus.FAILED, RefundStatus.SUCCEEDED]
    for status in [*statuses, RefundStatus.CANCELED]:
        returning = status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
        gateway.refunds = [ProviderRefund("re_1", order.total, 100, returning, status)]
        for _ in range(2):  # each event and its redelivery: once
            purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)

    refunds = (EntryType.REFUND, EntryType.REFUND_REVERSAL)
    kinds = [(e.type, e.amount) for e in ledger.entries(uid) if e.type in refunds]
    assert kinds == [
        (EntryType.REFUND, -granted),
        (EntryType.REFUND_REVERSAL, granted),
        (EntryType.REFUND, -granted),
        (EntryType.REFUND_REVERSAL, granted),
    ]
    stored = orders.get(order.id)
    assert stored is not None
    record = stored.refunds["re_1"]
    assert (record["credits"], record["restored"]["status"]) == (granted, "failed")
    assert (record["episodes"]["2"]["credits"], record["episodes"]["2"]["restored"]["status"]) == (
        granted,
        "canceled",
    )


class OrdersLosingTheFirstAnswer(FirestoreOrders):
    """Stores the first order, then answers as if the commit's answer was lost (503)."""

    lost = False

    def create(self, order: CreditOrder) -> bool:
        created = super().create(order)
        if not self.lost:
            self.lost = True
            raise Unavailable("the commit's answer was lost")
        return created


def test_a_keyed_purchase_retried_after_a_lost_answer_makes_one_order(
    firestore_client, razorpay_sandbox
) -> None:
    stack = razorpay_sandbox.stack
    gateway = RazorpayGateway(
        stack.razorpay_key_id,
        stack.razorpay_key_secret,
        stack.razorpay_webhook_secret,
        base_url=stack.razorpay_url,
    )
    orders = OrdersLosingTheFirstAnswer(firestore_client)
    purchases = CreditPurchases(
        ledger=FirestoreLedger(firestore_client),
        orders=orders,
        packages=FirestorePackages(firestore_client),
        razorpay=lambda: gateway,
        stripe=None,
        slots=FirestoreSlotCounter(firestore_client),
        purchase_limit=RateLimit("purchase", 10, 60),
        verify_limit=RateLimit("verify", 10, 60),
        clock=lambda: datetime.now(UTC),
        new_order_id=lambda: f"ord_{uuid.uuid4().hex}",
    )
    request = PurchaseRequest(package_id="basic")
    key = uuid.uuid4().hex  # the caller's scoped Idempotency-Key
    with pytest.raises(Unavailable):
        purchases.start("user-retry", request, key)
    checkout = purchases.start("user-retry", request, key)  # the client's retry

    order = checkout.order
    at_razorpay = razorpay_sandbox.client.order.all({"receipt": order.id})["items"]
    assert [o["id"] for o in at_razorpay] == [order.provider_order_id], "one Razorpay order"
    assert [o.id for o in orders.list_for_user("user-retry", 10, None).orders] == [order.id]
    # Without a key each request is a purchase of its own.
    assert purchases.start("user-retry", request).order.id != order.id
