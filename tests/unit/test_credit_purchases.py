"""Credit purchases on fakes: start, verify, grant once whoever comes first, webhooks, refunds."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from shared.access.rate_limits import RateLimit
from shared.errors import Conflict, InvalidRequest, NotFound, RateLimited, SignatureInvalid
from shared.ledger.entries import EntryType
from shared.payments.providers import ProviderRefund, RefundStatus
from shared.purchases.checkout import RAZORPAY, STRIPE, CreditPurchases, PurchaseRequest
from shared.purchases.orders import CreditOrder, OrderStatus, owned_order
from shared.purchases.packages import CreditPackage
from shared.purchases.razorpay_events import RazorpayWebhooks
from tests.unit.fakes import (
    Clock,
    MemoryLedger,
    MemoryOrders,
    MemoryPackages,
    MemoryPayments,
    MemoryProcessedEvents,
    MemorySlots,
    Razorpay,
    StripeCheckout,
    credit_intent,
    deliver_razorpay,
    deliver_stripe,
    razorpay_payment,
    stripe_event,
)

BASIC = CreditPackage("basic", "Basic", 500_00)  # total 59000 paise; 50000 + 5000 credits


@dataclass
class Shop:
    """The purchase use cases wired to fakes, as shared.bootstrap wires them to Firestore."""

    limit: int = 100
    clock: Clock = field(default_factory=Clock)
    ledger: MemoryLedger = field(init=False)
    orders: MemoryOrders = field(init=False)
    razorpay: Razorpay = field(default_factory=Razorpay)
    stripe: StripeCheckout = field(default_factory=StripeCheckout)
    processed: MemoryProcessedEvents = field(default_factory=MemoryProcessedEvents)

    def __post_init__(self) -> None:
        self.ledger = MemoryLedger(self.clock)
        self.orders = MemoryOrders(ledger=self.ledger)
        self.purchases = CreditPurchases(
            ledger=self.ledger,
            orders=self.orders,
            packages=MemoryPackages(BASIC),
            razorpay=lambda: self.razorpay,
            stripe=lambda: self.stripe,
            slots=MemorySlots(),
            purchase_limit=RateLimit("purchase", self.limit, 60),
            verify_limit=RateLimit("verify", self.limit, 60),
            clock=self.clock,
            new_order_id=lambda: f"ord_{len(self.orders.orders) + 1}",
            fx_rates={"usd": Decimal(8325)},
        )
        self.webhooks = RazorpayWebhooks(
            gateway=lambda: self.razorpay,
            ledger=self.ledger,
            orders=self.orders,
            processed=self.processed,
            clock=self.clock,
        )

    def buy(self, user: str = "alice", key: str | None = None) -> CreditOrder:
        return self.purchases.start(user, PurchaseRequest(package_id="basic"), key).order

    def verify(self, order: CreditOrder, payment_id: str, user: str = "alice") -> int:
        grant = self.purchases.verify_razorpay(user, order.provider_order_id, payment_id, "good")
        return grant.credits_granted

    def balance(self, user: str = "alice") -> int:
        return self.ledger.head(user).balance

    def order(self, order_id: str) -> CreditOrder:
        found = self.orders.get(order_id)
        assert found is not None
        return found


# --- start ----------------------------------------------------------------------------------


def test_a_purchase_prices_the_package_and_opens_a_razorpay_order_for_the_total() -> None:
    shop = Shop()
    checkout = shop.purchases.start("alice", PurchaseRequest(package_id="basic"))
    order = checkout.order
    assert (order.total, order.credits, order.bonus_credits) == (59_000, 50_000, 5_000)
    assert (order.provider, order.status, checkout.key_id) == (
        RAZORPAY,
        OrderStatus.CREATED,
        "rzp_test_fake",
    )
    assert shop.razorpay.orders[order.id].amount == 59_000
    assert shop.balance() == 0  # nothing is granted before payment


def test_a_retried_start_with_the_same_key_makes_one_order() -> None:
    shop = Shop()
    first, again = shop.buy(key="k1"), shop.buy(key="k1")
    assert first.id == again.id
    assert len(shop.orders.orders) == len(shop.razorpay.orders) == 1


def test_a_key_reused_after_the_provider_forgot_it_never_hands_out_an_unlinked_payment() -> None:
    # Stripe forgets idempotency keys after a day: the same key then makes a new PaymentIntent,
    # which no order stores. Paying it would grant nothing, so the retry is refused instead.
    shop = Shop()
    request = PurchaseRequest(amount=10_00, currency="usd")
    first = shop.purchases.start("alice", request, "k-old")
    shop.stripe.intents.clear()  # a day later: Stripe no longer knows the key
    with pytest.raises(Conflict):
        shop.purchases.start("alice", request, "k-old")
    assert [o.provider_order_id for o in shop.orders.orders.values()] == [
        first.order.provider_order_id
    ]


def test_a_foreign_currency_purchase_goes_through_stripe_with_a_client_secret() -> None:
    shop = Shop()
    checkout = shop.purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd"))
    assert (checkout.order.provider, checkout.order.currency) == (STRIPE, "usd")
    assert checkout.client_secret == "pi_secret"


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        (PurchaseRequest(), "package_id"),
        (PurchaseRequest(package_id="basic", amount=100_00), "package_id"),
        (PurchaseRequest(amount=10_00, currency="eur"), "currency"),
        (PurchaseRequest(amount=10_00, currency="usd", provider=RAZORPAY), "provider"),
        (PurchaseRequest(package_id="basic", provider="paypal"), "provider"),
    ],
)
def test_a_purchase_that_cannot_be_sold_is_refused_naming_the_field(
    request_: PurchaseRequest, named: str
) -> None:
    shop = Shop()
    with pytest.raises(InvalidRequest) as refused:
        shop.purchases.start("alice", request_)
    assert list(refused.value.details["fields"]) == [named]
    assert shop.orders.orders == {} and shop.razorpay.orders == {}


def test_a_package_not_on_sale_is_refused_naming_it() -> None:
    with pytest.raises(InvalidRequest) as refused:
        Shop().purchases.start("alice", PurchaseRequest(package_id="platinum"))
    assert list(refused.value.details["fields"]) == ["package_id"]


def test_purchases_beyond_the_rate_limit_are_refused_before_any_order() -> None:
    shop = Shop(limit=2)
    shop.buy(), shop.buy()
    with pytest.raises(RateLimited):
        shop.buy()
    assert len(shop.razorpay.orders) == 2


# --- verify ---------------------------------------------------------------------------------


def test_verify_grants_purchase_and_bonus_once_and_marks_the_order_paid() -> None:
    shop = Shop()
    order = shop.buy()
    paid = shop.razorpay.pay(order.provider_order_id, 59_000)

    assert shop.verify(order, paid) == 55_000
    again = shop.purchases.verify_razorpay("alice", order.provider_order_id, paid, "good")
    assert again.replayed and again.balance == 55_000
    assert shop.balance() == 55_000
    mine = owned_order(shop.orders, "alice", order.id)
    assert (mine.status, mine.provider_payment_id) == (OrderStatus.PAID, paid)


def test_an_authorized_payment_is_captured_then_granted() -> None:
    shop = Shop()
    order = shop.buy()
    paid = shop.razorpay.pay(order.provider_order_id, 59_000, status="authorized")
    assert shop.verify(order, paid) == 55_000
    assert shop.razorpay.captured == [paid]


def test_a_wrong_checkout_signature_grants_nothing() -> None:
    shop = Shop()
    order = shop.buy()
    paid = shop.razorpay.pay(order.provider_order_id, 59_000)
    with pytest.raises(InvalidRequest) as refused:
        shop.purchases.verify_razorpay("alice", order.provider_order_id, paid, "forged")
    assert list(refused.value.details["fields"]) == ["razorpay_signature"]
    assert shop.balance() == 0


def test_another_users_order_is_not_found_and_not_granted() -> None:
    shop = Shop()
    order = shop.buy()
    paid = shop.razorpay.pay(order.provider_order_id, 59_000)
    with pytest.raises(NotFound):
        shop.verify(order, paid, user="mallory")
    with pytest.raises(NotFound):
        owned_order(shop.orders, "mallory", order.id)
    assert (shop.balance("alice"), shop.balance("mallory")) == (0, 0)


def test_a_payment_for_less_than_the_order_is_flagged_not_granted() -> None:
    shop = Shop()
    order = shop.buy()
    cheap = shop.razorpay.pay(order.provider_order_id, 100)
    with pytest.raises(Conflict):
        shop.verify(order, cheap)
    assert shop.balance() == 0
    assert shop.order(order.id).flags["payment_mismatch"]["problems"]["amount"] == {
        "expected": 59_000,
        "got": 100,
    }


def test_a_payment_of_another_order_cannot_pay_this_one() -> None:
    shop = Shop()
    mine, other = shop.buy(), shop.buy()
    paid_other = shop.razorpay.pay(other.provider_order_id, 59_000)
    with pytest.raises(Conflict):
        shop.verify(mine, paid_other)
    assert shop.balance() == 0


def test_a_failed_payment_is_409_and_grants_nothing() -> None:
    shop = Shop()
    order = shop.buy()
    failed = shop.razorpay.pay(order.provider_order_id, 59_000, status="failed")
    with pytest.raises(Conflict):
        shop.verify(order, failed)
    assert shop.balance() == 0


def test_the_users_orders_are_listed_newest_first_and_paged() -> None:
    shop = Shop()
    for minute in range(3):
        shop.clock.now = shop.clock.now.replace(minute=minute)
        shop.buy()
    first = shop.orders.list_for_user("alice", 2, None)
    rest = shop.orders.list_for_user("alice", 2, first.next_cursor)
    assert [o.id for o in first.orders + rest.orders] == ["ord_3", "ord_2", "ord_1"]
    assert shop.orders.list_for_user("bob", 10, None).orders == []


# --- Razorpay webhooks ----------------------------------------------------------------------


def captured(
    shop: Shop, order: CreditOrder, payment_id: str = "pay_1", amount: int = 59_000
) -> dict[str, object]:
    return razorpay_payment(payment_id, order.provider_order_id, amount, amount_refunded=0)


def test_a_captured_webhook_grants_once_and_its_replay_is_a_duplicate() -> None:
    shop = Shop()
    order = shop.buy()
    first = deliver_razorpay(
        shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order)
    )
    again = deliver_razorpay(
        shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order)
    )
    other = deliver_razorpay(shop.webhooks, "order.paid", "evt_2", payment=captured(shop, order))

    assert (first.outcome, again.duplicate, other.outcome) == ("granted", True, "already granted")
    assert shop.balance() == 55_000


def test_verify_after_the_webhook_grants_nothing_more() -> None:
    shop = Shop()
    order = shop.buy()
    paid = shop.razorpay.pay(order.provider_order_id, 59_000)
    deliver_razorpay(
        shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order, paid)
    )
    grant = shop.purchases.verify_razorpay("alice", order.provider_order_id, paid, "good")
    assert grant.replayed and shop.balance() == 55_000


def test_a_webhook_with_a_bad_signature_changes_nothing() -> None:
    shop = Shop()
    order = shop.buy()
    with pytest.raises(SignatureInvalid):
        deliver_razorpay(
            shop.webhooks, "payment.captured", "evt_1", "forged", payment=captured(shop, order)
        )
    assert shop.balance() == 0 and shop.processed.recorded == {}


def test_a_late_failure_never_unpays_a_paid_order() -> None:
    shop = Shop()
    order = shop.buy()
    deliver_razorpay(shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order))
    failed = razorpay_payment("pay_0", order.provider_order_id, 59_000, status="failed")
    outcome = deliver_razorpay(shop.webhooks, "payment.failed", "evt_0", payment=failed)
    assert outcome.outcome == "order stays paid"
    assert shop.order(order.id).status is OrderStatus.PAID


def test_a_failure_then_a_capture_still_grants() -> None:
    shop = Shop()
    order = shop.buy()
    failed = razorpay_payment("pay_0", order.provider_order_id, 59_000, status="failed")
    deliver_razorpay(shop.webhooks, "payment.failed", "evt_0", payment=failed)
    assert shop.order(order.id).status is OrderStatus.FAILED
    deliver_razorpay(shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order))
    assert shop.order(order.id).status is OrderStatus.PAID and shop.balance() == 55_000


def test_a_webhook_for_less_than_the_order_is_flagged_not_granted() -> None:
    shop = Shop()
    order = shop.buy()
    outcome = deliver_razorpay(
        shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order, amount=1)
    )
    assert outcome.outcome.startswith("flagged")
    assert shop.balance() == 0


def test_partial_refunds_take_back_credits_in_proportion_each_once() -> None:
    shop = Shop()
    order = shop.buy()
    deliver_razorpay(shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order))
    for n, refunded in ((1, 29_500), (2, 59_000), (2, 59_000)):  # the last is a redelivery
        payment = razorpay_payment(
            "pay_1", order.provider_order_id, 59_000, amount_refunded=refunded
        )
        deliver_razorpay(
            shop.webhooks, "refund.processed", f"evt_r{n}", payment=payment,
            refund={"id": f"rfnd_{n}", "amount": 29_500},
        )  # fmt: skip
    assert shop.balance() == 0  # all 55,000 credits back, no more
    assert set(shop.order(order.id).refunds) == {"rfnd_1", "rfnd_2"}


def test_a_refund_that_arrives_before_the_capture_grants_then_takes_back() -> None:
    shop = Shop()
    order = shop.buy()
    payment = razorpay_payment("pay_1", order.provider_order_id, 59_000, status="refunded",
                               amount_refunded=59_000)  # fmt: skip
    outcome = deliver_razorpay(
        shop.webhooks, "refund.processed", "evt_r1", payment=payment,
        refund={"id": "rfnd_1", "amount": 59_000},
    )  # fmt: skip
    assert outcome.outcome == "credits taken back"
    deliver_razorpay(shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order))
    assert shop.balance() == 0


def test_a_dispute_is_recorded_on_the_order_and_credits_stay() -> None:
    shop = Shop()
    order = shop.buy()
    deliver_razorpay(shop.webhooks, "payment.captured", "evt_1", payment=captured(shop, order))
    dispute = {"id": "disp_1", "status": "open", "amount": 59_000, "payment_id": "pay_1"}
    deliver_razorpay(
        shop.webhooks, "payment.dispute.created", "evt_d1", payment=captured(shop, order),
        dispute=dispute,
    )  # fmt: skip
    assert "disp_1" in shop.order(order.id).disputes
    assert shop.balance() == 55_000


# --- Stripe credit purchases ------------------------------------------------------------------


def test_a_succeeded_intent_grants_its_own_order_once() -> None:
    shop = Shop()
    order = shop.purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd")).order
    intent = credit_intent(order.provider_order_id, order.total, "usd")

    assert shop.purchases.stripe_intent_event(intent, "evt_1")
    assert shop.purchases.stripe_intent_event(intent, "evt_1")
    assert shop.balance() == order.granted_credits
    assert shop.order(order.id).status is OrderStatus.PAID


def test_an_intent_that_pays_no_credit_order_grants_nothing() -> None:
    shop = Shop()
    assert not shop.purchases.stripe_intent_event(credit_intent("pi_card", 10_00, "usd"), "e1")
    assert shop.ledger.entries == []


def test_stripe_refunds_made_anywhere_take_back_credits_once() -> None:
    shop = Shop()
    order = shop.purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd")).order
    shop.purchases.stripe_intent_event(credit_intent(order.provider_order_id, 10_00, "usd"), "e1")
    refunds = [ProviderRefund("re_1", 5_00, 1, True), ProviderRefund("re_2", 5_00, 2, True)]
    shop.stripe.refunds.made[order.provider_order_id] = refunds

    for _ in range(2):
        assert shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id) == 2
    assert shop.balance() == 0


def test_a_stripe_dispute_of_a_credit_order_is_kept_on_the_order_not_as_a_card_payment() -> None:
    shop = Shop()
    order = shop.purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd")).order
    payments = MemoryPayments()
    dispute = {"id": "dp_1", "status": "needs_response", "amount": 1000, "reason": "fraudulent"}
    event = stripe_event(
        "evt_dp", "charge.dispute.created", payment_intent_id=order.provider_order_id,
        dispute=dispute,
    )  # fmt: skip
    deliver_stripe(payments, event, credit_order_disputed=shop.purchases.stripe_dispute_event)
    stored = shop.orders.orders[order.id]
    assert stored.disputes["dp_1"]["states"]["needs_response"]["amount"] == 1000
    assert payments.payment(order.provider_order_id) is None  # no ownerless card payment
    assert payments.outbox == {}  # and no payment.dispute notification


def stripe_credit_order(shop: Shop) -> CreditOrder:
    """A $10.00 Stripe credit order, paid and granted (83_250 + 8_325 credit units)."""
    order = shop.purchases.start("alice", PurchaseRequest(amount=10_00, currency="usd")).order
    shop.purchases.stripe_intent_event(credit_intent(order.provider_order_id, 10_00, "usd"), "e1")
    return order


def test_credits_taken_for_a_pending_stripe_refund_come_back_once_when_it_fails() -> None:
    shop = Shop()
    order = stripe_credit_order(shop)
    granted = shop.balance()
    shop.stripe.refunds.made[order.provider_order_id] = [ProviderRefund("re_1", 4_00, 1, True)]
    shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)
    taken = granted - shop.balance()
    assert taken == granted * 4 // 10

    # The pending refund fails (or is canceled): the money stays with us, so the credits go back.
    shop.stripe.refunds.made[order.provider_order_id] = [ProviderRefund("re_1", 4_00, 1, False)]
    for _ in range(2):  # and a redelivered event gives nothing more
        shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)
    assert shop.balance() == granted
    restored = shop.order(order.id).refunds["re_1"]["restored"]
    assert restored["credits"] == taken


@dataclass
class StripeWhoseRefundFailsMeanwhile(StripeCheckout):
    """Stripe listing a refund as pending once, then as failed (it failed as we took credits)."""

    listings: list[list[ProviderRefund]] = field(default_factory=list)

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]


def test_a_refund_failing_while_its_credits_are_taken_gets_them_back() -> None:
    stripe = StripeWhoseRefundFailsMeanwhile()
    shop = Shop(stripe=stripe)
    order = stripe_credit_order(shop)
    granted = shop.balance()
    pending = ProviderRefund("re_1", 10_00, 1, True, RefundStatus.PENDING)
    canceled = ProviderRefund("re_1", 10_00, 1, False, RefundStatus.CANCELED)
    # The failure's own event read the order before our clawback landed and found nothing to
    # give back; our listing after the clawback sees the refund canceled.
    stripe.listings = [[pending], [canceled]]
    assert shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id) == 0
    assert shop.balance() == granted
    record = shop.order(order.id).refunds["re_1"]
    assert (record["credits"], record["restored"]["status"]) == (granted, "canceled")
    kinds = (EntryType.REFUND, EntryType.REFUND_REVERSAL)
    history = [(e.type, e.amount) for e in shop.ledger.entries if e.type in kinds]
    assert history == [(EntryType.REFUND, -granted), (EntryType.REFUND_REVERSAL, granted)]


def test_a_failed_refund_puts_the_credits_back_in_the_grants_its_clawback_took_them_from() -> None:
    shop = Shop()
    order = stripe_credit_order(shop)
    before = {g.id: g.remaining for g in shop.ledger.head("alice").open_grants()}
    assert set(before) == {"paid.50.never", "promotional.50.never"}  # purchase and bonus
    shop.stripe.refunds.made[order.provider_order_id] = [ProviderRefund("re_1", 10_00, 1, True)]
    shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)
    assert shop.ledger.head("alice").open_grants() == ()

    failed = ProviderRefund("re_1", 10_00, 1, False, RefundStatus.FAILED)
    shop.stripe.refunds.made[order.provider_order_id] = [failed]
    shop.purchases.claw_back_provider_refunds(STRIPE, order.provider_order_id)

    after = {g.id: g.remaining for g in shop.ledger.head("alice").open_grants()}
    assert after == before  # paid credits come back paid, the bonus as the bonus
