"""Card payments, refunds and Stripe webhooks on fakes (seed 004): outcomes once, forward only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pytest

from shared.errors import InvalidRequest, NotFound, PaymentDeclined, ProviderError, ProviderRejected
from shared.payments.card_payments import owned_payment, process_payment, verify_payment
from shared.payments.providers import GatewayRefund
from shared.payments.records import PaymentRequest, PaymentStatus
from shared.payments.refunds import RefundRequest, owned_refund, refund_payment, verify_refund
from tests.unit.fakes import (
    DECLINED_CARD,
    THREE_D_SECURE_CARD,
    MemoryPayments,
    RefundStatus,
    Stripe,
    credit_intent,
    deliver_stripe,
    gateway_refund,
    stripe_event,
)


def pay(
    stripe: Stripe,
    store: MemoryPayments,
    card: str = "pm_card_visa",
    key: str | None = None,
    amount: int = 5_000,
) -> str:
    request = PaymentRequest(amount, "usd", card, metadata={"order": "o1"})
    return process_payment(stripe, store, request, "alice", key).payment_intent_id


def notified(store: MemoryPayments) -> list[str]:
    return sorted(store.outbox)


# --- process and verify -----------------------------------------------------------------------


def test_a_card_payment_succeeds_is_recorded_and_notified_once() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)

    payment = owned_payment(store, intent_id, "alice")
    assert (payment.status, payment.amount, payment.currency) == (
        PaymentStatus.SUCCEEDED,
        5_000,
        "usd",
    )
    assert notified(store) == [f"payment.succeeded.{intent_id}"]


def test_a_retry_with_the_same_key_charges_once() -> None:
    stripe, store = Stripe(), MemoryPayments()
    first, again = pay(stripe, store, key="k1"), pay(stripe, store, key="k1")
    assert first == again
    assert len(stripe.intents) == 1 and len(store.outbox) == 1


def test_a_declined_card_is_recorded_failed_and_answers_402() -> None:
    stripe, store = Stripe(), MemoryPayments()
    with pytest.raises(PaymentDeclined) as declined:
        pay(stripe, store, DECLINED_CARD)
    intent_id = declined.value.details["payment_intent_id"]
    assert declined.value.details["decline_code"] == "generic_decline"
    payment = owned_payment(store, str(intent_id), "alice")
    assert (payment.status, payment.decline_code) == (PaymentStatus.FAILED, "generic_decline")
    assert notified(store) == [f"payment.failed.{intent_id}"]


def test_a_3d_secure_payment_waits_for_the_customer_then_verify_moves_it_forward() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store, THREE_D_SECURE_CARD)
    assert owned_payment(store, intent_id, "alice").requires_action
    assert store.outbox == {}

    stripe.move(intent_id, PaymentStatus.SUCCEEDED)  # the customer passed 3-D Secure
    checked = verify_payment(stripe, store, intent_id, "alice")
    assert checked.verified and checked.payment.status is PaymentStatus.SUCCEEDED
    verify_payment(stripe, store, intent_id, "alice")
    assert notified(store) == [f"payment.succeeded.{intent_id}"]


def test_another_users_payment_is_not_found_and_not_refreshed() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store, THREE_D_SECURE_CARD)
    stripe.move(intent_id, PaymentStatus.SUCCEEDED)
    with pytest.raises(NotFound):
        verify_payment(stripe, store, intent_id, "mallory")
    assert owned_payment(store, intent_id, "alice").requires_action


@pytest.mark.parametrize(
    ("amount", "currency", "card", "metadata", "named"),
    [
        (0, "usd", "pm_card_visa", {}, "amount"),
        (5_000, "USD", "pm_card_visa", {}, "currency"),
        (5_000, "usd", "tok_visa", {}, "payment_method"),
        (5_000, "usd", "pm_card_visa", {"order_id": "x"}, "metadata.order_id"),
    ],
)
def test_a_payment_request_that_cannot_be_charged_is_refused_naming_the_field(
    amount: int, currency: str, card: str, metadata: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        PaymentRequest(amount, currency, card, metadata=metadata)
    assert list(refused.value.details["fields"]) == [named]


# --- refunds ----------------------------------------------------------------------------------


def test_partial_refunds_add_up_to_the_payment_and_no_further() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 3_000), "alice")
    rest = refund_payment(stripe, store, RefundRequest(intent_id), "alice")  # everything left

    assert (first.amount, rest.amount) == (3_000, 2_000)
    assert owned_payment(store, intent_id, "alice").amount_refunded == 5_000
    with pytest.raises(InvalidRequest) as refused:
        refund_payment(stripe, store, RefundRequest(intent_id, 1), "alice")
    assert list(refused.value.details["fields"]) == ["amount"]
    assert len(stripe.refunds) == 2


def test_a_refund_beyond_what_is_left_is_refused_and_reserves_nothing() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    with pytest.raises(InvalidRequest):
        refund_payment(stripe, store, RefundRequest(intent_id, 5_001), "alice")
    assert store.reserved == {} and stripe.refunds == {}


def test_a_payment_that_did_not_succeed_cannot_be_refunded() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store, THREE_D_SECURE_CARD)
    with pytest.raises(InvalidRequest) as refused:
        refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    assert list(refused.value.details["fields"]) == ["payment_intent_id"]


def test_a_refund_retried_with_the_same_key_refunds_once() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 1_000), "alice", "k1")
    again = refund_payment(stripe, store, RefundRequest(intent_id, 1_000), "alice", "k1")
    assert first.refund_id == again.refund_id
    assert owned_payment(store, intent_id, "alice").amount_refunded == 1_000


def test_a_refund_whose_answer_was_lost_is_settled_by_the_next_request_not_made_twice() -> None:
    stripe, store = Stripe(lose_refund_answers=True), MemoryPayments()
    intent_id = pay(stripe, store)
    with pytest.raises(ProviderError):
        refund_payment(stripe, store, RefundRequest(intent_id, 4_000), "alice")

    stripe.lose_refund_answers = False
    with pytest.raises(InvalidRequest):  # the lost refund counts: only 1,000 is left
        refund_payment(stripe, store, RefundRequest(intent_id, 4_000), "alice")
    assert owned_payment(store, intent_id, "alice").amount_refunded == 4_000
    assert len(stripe.refunds) == 1
    last = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    assert last.amount == 1_000


def test_a_refund_the_provider_refuses_releases_its_reservation() -> None:
    stripe, store = Stripe(refuse_refunds=True), MemoryPayments()
    intent_id = pay(stripe, store)
    with pytest.raises(ProviderRejected):
        refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    stripe.refuse_refunds = False
    assert refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice").amount == 5_000


@pytest.mark.parametrize("final", [RefundStatus.FAILED, RefundStatus.CANCELED])
def test_a_refund_that_failed_at_the_provider_frees_its_amount_for_another_refund(
    final: RefundStatus,
) -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    # Stripe reports the refund failed (the card was closed): no money went back.
    stripe.refunds[first.refund_id] = gateway_refund(first.refund_id, intent_id, 5_000, final)

    again = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    assert (again.amount, again.status) == (5_000, RefundStatus.SUCCEEDED)
    with pytest.raises(InvalidRequest):  # and no further: the new refund counts
        refund_payment(stripe, store, RefundRequest(intent_id, 1), "alice")


def fail_refund(
    store: MemoryPayments,
    event_id: str,
    refund: tuple[str, str],  # (refund id, payment intent id)
    status: RefundStatus = RefundStatus.FAILED,
    amount: int = 5_000,
) -> None:
    """Deliver Stripe's report that the refund reached ``status``."""
    refund_id, intent_id = refund
    failed = gateway_refund(refund_id, intent_id, amount, status)
    event = stripe_event(event_id, "refund.updated", payment_intent_id=intent_id, refunds=(failed,))
    deliver_stripe(store, event)


def test_a_failed_refund_no_longer_counts_as_refunded_on_the_payment() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    stripe.refunds[first.refund_id] = gateway_refund(
        first.refund_id, intent_id, 5_000, RefundStatus.FAILED
    )
    fail_refund(store, "evt_f1", (first.refund_id, intent_id))
    assert owned_payment(store, intent_id, "alice").amount_refunded == 0

    refund_payment(stripe, store, RefundRequest(intent_id), "alice")  # refunded again, for real
    assert owned_payment(store, intent_id, "alice").amount_refunded == 5_000  # not 10,000


def test_a_failed_refund_reported_again_or_canceled_too_is_taken_off_once() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 2_000), "alice")
    refund_payment(stripe, store, RefundRequest(intent_id, 1_000), "alice")
    fail_refund(store, "evt_c", (first.refund_id, intent_id), RefundStatus.CANCELED, 2_000)
    fail_refund(store, "evt_f", (first.refund_id, intent_id), RefundStatus.FAILED, 2_000)
    fail_refund(store, "evt_f2", (first.refund_id, intent_id), RefundStatus.FAILED, 2_000)
    fail_refund(store, "evt_f", (first.refund_id, intent_id), RefundStatus.FAILED, 2_000)  # replay
    assert owned_payment(store, intent_id, "alice").amount_refunded == 1_000


def test_a_late_success_event_after_the_failure_does_not_count_the_refund_again() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    fail_refund(store, "evt_f", (first.refund_id, intent_id))
    fail_refund(store, "evt_late", (first.refund_id, intent_id), RefundStatus.SUCCEEDED)
    assert owned_payment(store, intent_id, "alice").amount_refunded == 0


def test_a_lost_refund_that_failed_before_it_was_settled_is_not_counted_as_refunded() -> None:
    stripe, store = Stripe(lose_refund_answers=True), MemoryPayments()
    intent_id = pay(stripe, store)
    with pytest.raises(ProviderError):
        refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    (made,) = stripe.refunds.values()
    stripe.refunds[made.id] = replace(made, status=RefundStatus.FAILED)
    stripe.lose_refund_answers = False

    again = refund_payment(stripe, store, RefundRequest(intent_id), "alice")  # settles the lost one
    assert again.amount == 5_000
    assert owned_refund(store, made.id, "alice").status is RefundStatus.FAILED
    assert owned_payment(store, intent_id, "alice").amount_refunded == 5_000


def test_a_refund_waiting_for_action_at_the_provider_keeps_its_amount() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    first = refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")
    stripe.refunds[first.refund_id] = gateway_refund(
        first.refund_id, intent_id, 5_000, RefundStatus.REQUIRES_ACTION
    )
    with pytest.raises(InvalidRequest):  # it may still send the money back
        refund_payment(stripe, store, RefundRequest(intent_id, 1), "alice")


def test_another_users_refund_is_not_found() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    with pytest.raises(NotFound):
        refund_payment(stripe, store, RefundRequest(intent_id), "mallory")
    refund = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    with pytest.raises(NotFound):
        owned_refund(store, refund.refund_id, "mallory")
    with pytest.raises(NotFound):
        verify_refund(stripe, store, refund.refund_id, "mallory")


def test_verify_refund_moves_forward_only() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    refund = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    # Stripe answers an older state than the one we recorded
    stripe.refunds[refund.refund_id] = gateway_refund(
        refund.refund_id, intent_id, 5_000, RefundStatus.PENDING
    )
    known, at_stripe = verify_refund(stripe, store, refund.refund_id, "alice")
    assert (known.status, at_stripe) == (RefundStatus.SUCCEEDED, RefundStatus.PENDING)


# --- Stripe webhooks --------------------------------------------------------------------------


def test_an_intent_event_is_applied_once_and_its_replay_is_a_duplicate() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store, THREE_D_SECURE_CARD)
    event = stripe_event(
        "evt_1",
        "payment_intent.succeeded",
        payment_intent_id=intent_id,
        intent=stripe.move(intent_id, PaymentStatus.SUCCEEDED),
    )
    assert not deliver_stripe(store, event).duplicate
    assert deliver_stripe(store, event).duplicate
    assert owned_payment(store, intent_id, "alice").status is PaymentStatus.SUCCEEDED
    assert notified(store) == [f"payment.succeeded.{intent_id}"]


def test_a_late_failure_event_never_moves_a_succeeded_payment_back() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    late = stripe_event(
        "evt_0", "charge.failed", payment_intent_id=intent_id, payment_status=PaymentStatus.FAILED
    )
    deliver_stripe(store, late)
    assert owned_payment(store, intent_id, "alice").status is PaymentStatus.SUCCEEDED
    assert notified(store) == [f"payment.succeeded.{intent_id}"]


def test_an_intent_event_of_a_credit_order_is_left_to_the_credits_work() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store, THREE_D_SECURE_CARD)
    seen: list[str] = []

    def credit_order_intent(intent: object, event_id: str) -> bool:
        seen.append(event_id)
        return True

    event = stripe_event(
        "evt_1", "payment_intent.succeeded", intent=stripe.move(intent_id, PaymentStatus.SUCCEEDED)
    )
    deliver_stripe(store, event, credit_order_intent)
    assert seen == ["evt_1"]
    assert owned_payment(store, intent_id, "alice").requires_action  # no seed-004 record change


def test_a_refund_event_moves_our_refund_forward_and_asks_the_credits_work() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    refund = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    failed = gateway_refund(refund.refund_id, intent_id, 5_000, RefundStatus.FAILED)
    asked: list[str] = []
    event = stripe_event("evt_r", "charge.refunded", payment_intent_id=intent_id, refunds=(failed,))
    deliver_stripe(store, event, None, asked.append)

    assert owned_refund(store, refund.refund_id, "alice").status is RefundStatus.FAILED
    assert asked == [intent_id]
    assert f"refund.failed.{refund.refund_id}" in store.outbox


@pytest.mark.parametrize("event_type", ["refund.failed", "refund.updated", "charge.refund.updated"])
def test_a_refund_that_fails_later_moves_our_refund_and_asks_the_credits_work(
    event_type: str,
) -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    refund = refund_payment(stripe, store, RefundRequest(intent_id), "alice")
    failed = gateway_refund(refund.refund_id, intent_id, 5_000, RefundStatus.FAILED)
    asked: list[str] = []
    event = stripe_event("evt_f", event_type, payment_intent_id=intent_id, refunds=(failed,))
    deliver_stripe(store, event, None, asked.append)

    assert owned_refund(store, refund.refund_id, "alice").status is RefundStatus.FAILED
    assert asked == [intent_id]  # a credit order's refund that failed gives its credits back


@dataclass
class RacingStripe(Stripe):
    """Stripe whose refund fails at once and whose refund.failed webhook is delivered before
    its answer to the refund request reaches us (the answer still says succeeded)."""

    store: MemoryPayments | None = None

    def create_refund(
        self, intent_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayRefund:
        made = super().create_refund(intent_id, amount, metadata, idempotency_key)
        failed = replace(made, status=RefundStatus.FAILED)
        self.refunds[made.id] = failed
        event = stripe_event("evt_fast", "refund.failed", payment_intent_id=intent_id,
                             refunds=(failed,))  # fmt: skip
        assert self.store is not None
        deliver_stripe(self.store, event)
        return made


def test_a_refund_failure_reported_before_our_answer_is_recorded_and_notified() -> None:
    store = MemoryPayments()
    stripe = RacingStripe(store=store)
    intent_id = pay(stripe, store)
    made = refund_payment(stripe, store, RefundRequest(intent_id, 5_000), "alice")

    assert owned_refund(store, made.refund_id, "alice").status is RefundStatus.FAILED
    assert owned_payment(store, intent_id, "alice").amount_refunded == 0
    assert f"refund.failed.{made.refund_id}" in store.outbox  # the merchant hears of it


def test_a_refund_made_in_stripes_dashboard_shows_in_the_payments_amount_refunded() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    made = stripe.create_refund(intent_id, 2_000, {}, "dashboard")  # no reservation of ours
    event = stripe_event("evt_d", "refund.updated", payment_intent_id=intent_id, refunds=(made,))
    deliver_stripe(store, event)
    with pytest.raises(InvalidRequest):  # refundability already knows: 3,000 is left
        refund_payment(stripe, store, RefundRequest(intent_id, 3_001), "alice")
    assert owned_payment(store, intent_id, "alice").amount_refunded == 2_000
    assert owned_refund(store, made.id, "alice").status is RefundStatus.SUCCEEDED
    assert f"refund.succeeded.{made.id}" in store.outbox  # the merchant hears of it


def test_a_dashboard_refund_reported_by_every_event_counts_once_and_comes_off_when_it_fails() -> (
    None
):
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    made = stripe.create_refund(intent_id, 2_000, {}, "dashboard")
    pending = replace(made, status=RefundStatus.PENDING)
    reports = [  # Stripe's refund.created, then the same refund by every other event, replayed
        ("evt_1", "refund.created", pending),
        ("evt_2", "charge.refund.updated", made),
        ("evt_3", "refund.updated", made),
        ("evt_4", "charge.refunded", made),
        ("evt_3", "refund.updated", made),
    ]
    for event_id, event_type, refund in reports:
        event = stripe_event(event_id, event_type, payment_intent_id=intent_id, refunds=(refund,))
        deliver_stripe(store, event)
    assert owned_payment(store, intent_id, "alice").amount_refunded == 2_000

    failed = replace(made, status=RefundStatus.FAILED)
    for event_id, event_type in [("evt_5", "refund.failed"), ("evt_6", "refund.updated")]:
        event = stripe_event(event_id, event_type, payment_intent_id=intent_id, refunds=(failed,))
        deliver_stripe(store, event)
    assert owned_payment(store, intent_id, "alice").amount_refunded == 0
    assert [k for k in notified(store) if k.startswith("refund.")] == [
        f"refund.failed.{made.id}",
        f"refund.succeeded.{made.id}",
    ]


def test_a_dashboard_refund_reported_only_by_charge_refunded_is_read_from_stripes_list() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    made = stripe.create_refund(intent_id, 1_500, {}, "dashboard")
    # As current API versions send it: the charge names its PaymentIntent, not its refunds.
    event = stripe_event("evt_c", "charge.refunded", payment_intent_id=intent_id)
    deliver_stripe(store, event, card_refunds=stripe.refunds_of)
    assert owned_payment(store, intent_id, "alice").amount_refunded == 1_500
    assert f"refund.succeeded.{made.id}" in store.outbox


def test_a_refund_of_an_intent_that_is_no_card_payment_of_ours_records_nothing() -> None:
    store, refunded, asked = MemoryPayments(), list[str](), list[str]()

    def refunds_of(intent_id: str) -> list[GatewayRefund]:
        asked.append(intent_id)
        return []

    other = gateway_refund("re_9", "pi_credit_order", 2_000, RefundStatus.SUCCEEDED)
    event = stripe_event("evt_o", "refund.created", payment_intent_id="pi_credit_order",
                         refunds=(other,))  # fmt: skip
    deliver_stripe(store, event, credit_order_refunded=refunded.append)
    charge = stripe_event("evt_c", "charge.refunded", payment_intent_id="pi_credit_order")
    deliver_stripe(store, charge, credit_order_refunded=refunded.append, card_refunds=refunds_of)
    assert (store.refunds, store.payments, store.outbox) == ({}, {}, {})
    assert refunded == ["pi_credit_order"] * 2  # the credits work still hears of it
    assert asked == []  # Stripe's list of a credit order's refunds is the credits work's to read


def test_a_refund_event_is_read_as_the_refund_of_its_payment_intent() -> None:
    from shared.adapters.stripe_gateway import event_from_stripe

    refund = {"id": "re_1", "object": "refund", "amount": 700, "currency": "usd",
              "payment_intent": "pi_1", "status": "failed", "created": 5, "metadata": {},
              "failure_reason": "expired_or_canceled_card"}  # fmt: skip
    body = {"id": "evt_1", "type": "refund.failed", "created": 6, "data": {"object": refund}}
    event = event_from_stripe(body)
    assert event.payment_intent_id == "pi_1"
    [failed] = event.refunds
    assert (failed.id, failed.status, failed.failure_reason) == (
        "re_1",
        RefundStatus.FAILED,
        "expired_or_canceled_card",
    )


def test_a_dispute_is_recorded_and_a_late_earlier_state_notifies_nothing() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    won = {"id": "dp_1", "status": "won", "amount": 5_000}
    opened = {"id": "dp_1", "status": "needs_response", "amount": 5_000}
    deliver_stripe(
        store, stripe_event("e1", "charge.dispute.closed", payment_intent_id=intent_id, dispute=won)
    )
    deliver_stripe(
        store,
        stripe_event("e2", "charge.dispute.created", payment_intent_id=intent_id, dispute=opened),
    )
    assert owned_payment(store, intent_id, "alice").disputes["dp_1"]["status"] == "won"
    assert [k for k in store.outbox if "dispute" in k] == ["payment.dispute_closed.dp_1.won"]


def test_a_charged_back_card_payment_is_not_refunded_as_well() -> None:
    stripe, store = Stripe(), MemoryPayments()
    intent_id = pay(stripe, store)
    lost = {"id": "dp_1", "status": "lost", "amount": 5_000}
    deliver_stripe(
        store,
        stripe_event("e1", "charge.dispute.closed", payment_intent_id=intent_id, dispute=lost),
    )
    with pytest.raises(InvalidRequest, match="charged back") as refused:
        refund_payment(stripe, store, RefundRequest(intent_id, 1_000), "alice")
    assert list(refused.value.details["fields"]) == ["payment_intent_id"]
    assert stripe.refunds == {} and store.reserved == {}  # the bank returned the money already


def test_an_event_type_we_do_not_handle_records_nothing() -> None:
    # payment_intent.created can come before a credit order stores its intent's id: applied, it
    # would record the credit purchase as a card payment (and its charge would notify as one).
    store = MemoryPayments()
    intent = credit_intent("pi_credit", 1000, "usd", succeeded=False)
    event = stripe_event(
        "evt_created", "payment_intent.created", payment_intent_id=intent.id, intent=intent
    )
    outcome = deliver_stripe(store, event, lambda intent, event_id: False)
    assert not outcome.handled
    assert store.payment("pi_credit") is None
    assert notified(store) == []
