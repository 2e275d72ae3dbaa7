"""Pure payment rules: forward-only status, refund reservations, request checks, signatures."""

from __future__ import annotations

import pytest

from shared.adapters.stripe_gateway import status_from_stripe
from shared.errors import InvalidRequest
from shared.payments.outbox import sign, verify
from shared.payments.records import Payment, PaymentRequest, PaymentStatus, current_status
from shared.payments.refund_reservations import ReservationStatus
from shared.payments.refunds import RefundReservation, next_reservation


def paid(amount: int = 1000, status: PaymentStatus = PaymentStatus.SUCCEEDED) -> Payment:
    return Payment("pi_1", amount, "usd", status, owner_uid="u")


def test_status_is_the_highest_ranked_state_ever_reached() -> None:
    reached = {PaymentStatus.SUCCEEDED.rank: 1, PaymentStatus.PROCESSING.rank: 1}
    assert current_status(reached) is PaymentStatus.SUCCEEDED
    assert PaymentStatus.FAILED.rank < PaymentStatus.SUCCEEDED.rank  # a retry may still succeed
    assert PaymentStatus.REQUIRES_ACTION.rank < PaymentStatus.PROCESSING.rank


def test_a_declined_attempt_maps_to_failed() -> None:
    assert status_from_stripe("requires_payment_method", True) is PaymentStatus.FAILED
    assert status_from_stripe("requires_payment_method", False).value == "requires_payment_method"


def test_reservations_count_live_claims_and_skip_released_ones() -> None:
    existing = [
        RefundReservation("pi_1", 1, 300, 300, ReservationStatus.SUCCEEDED),
        RefundReservation("pi_1", 2, 500, 800, ReservationStatus.RELEASED),
        RefundReservation("pi_1", 3, 200, 500, ReservationStatus.RESERVED),
    ]
    nxt = next_reservation(paid(), existing, None)
    assert (nxt.number, nxt.amount, nxt.reserved_total, nxt.id) == (4, 500, 1000, "pi_1_0004")


@pytest.mark.parametrize("amount", [0, -1, 1001])
def test_reservations_refuse_what_does_not_fit(amount: int) -> None:
    with pytest.raises(InvalidRequest):
        next_reservation(paid(), [], amount)


def test_only_succeeded_payments_are_refundable() -> None:
    with pytest.raises(InvalidRequest):
        next_reservation(paid(status=PaymentStatus.REQUIRES_ACTION), [], 1)
    full = [RefundReservation("pi_1", 1, 1000, 1000)]
    with pytest.raises(InvalidRequest, match="nothing left"):
        next_reservation(paid(), full, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": 0},
        {"amount": 100_000_000},
        {"amount": 10.0},
        {"currency": "xyz"},
        {"currency": "USD"},
        {"payment_method": "tok_visa"},
    ],
)
def test_payment_requests_are_checked_before_any_gateway_call(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"amount": 1000, "currency": "usd", "payment_method": "pm_1"}
    with pytest.raises(InvalidRequest):
        PaymentRequest(**{**fields, **kwargs})  # type: ignore[arg-type]


def test_outbox_signatures_verify_only_the_signed_body_in_time() -> None:
    header = sign(b'{"id": "x"}', "s3cret", 1_000)
    assert verify(b'{"id": "x"}', header, "s3cret", now=1_100)
    assert not verify(b'{"id": "y"}', header, "s3cret", now=1_100)
    assert not verify(b'{"id": "x"}', header, "other", now=1_100)
    assert not verify(b'{"id": "x"}', header, "s3cret", now=1_000 + 301)
    assert not verify(b'{"id": "x"}', None, "s3cret", now=1_000)


@pytest.mark.parametrize("key", ["credit_order_id", "order_id", "user_id", "Credit_Order_ID"])
def test_card_payments_refuse_the_service_metadata_keys_naming_the_field(key: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        PaymentRequest(1000, "usd", "pm_card", metadata={"ticket": "t1", key: "x"})
    assert refused.value.details == {
        "fields": {f"metadata.{key}": "is reserved for the service's own use"}
    }


def test_a_refund_status_never_gives_way_to_an_earlier_one() -> None:
    from shared.payments.providers import RefundStatus, current_refund_status

    pending, succeeded = RefundStatus.PENDING, RefundStatus.SUCCEEDED
    assert current_refund_status({pending.rank: 1, succeeded.rank: 1}) is succeeded
    # Stripe reports refunds that fail after succeeding: failed is the last word.
    assert RefundStatus.FAILED.rank > succeeded.rank > RefundStatus.REQUIRES_ACTION.rank


def test_a_dispute_is_its_highest_ranked_state_on_either_provider() -> None:
    from shared.payments.disputes import disputes_view

    def states(*statuses: str) -> dict[str, object]:
        return {"states": {status: {"status": status} for status in statuses}}

    stored = {
        "dp_1": states("won", "needs_response"),  # Stripe, a late opening
        "disp_2": states("open", "closed"),  # Razorpay
        "dp_3": states("warning_closed", "warning_needs_response"),  # a closed inquiry
        "dp_old": {"status": "under_review"},  # stored before states were kept
    }
    view = disputes_view(stored)
    assert {k: v["status"] for k, v in view.items()} == {
        "dp_1": "won",
        "disp_2": "closed",
        "dp_3": "warning_closed",
        "dp_old": "under_review",
    }
