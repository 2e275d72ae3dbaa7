"""Pure rules of credit orders: clawback arithmetic, payment matching, rate-limit windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.access.rate_limits import RateLimit, SlotCounter, enforce_rate_limit
from shared.errors import RateLimited
from shared.payments.providers import ProviderPayment, ProviderPaymentStatus
from shared.purchases.checkout import payment_mismatches
from shared.purchases.crediting import refund_clawback
from shared.purchases.orders import CreditOrder
from shared.purchases.pricing import quote_purchase

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def order(amount: int = 500_00) -> CreditOrder:
    return CreditOrder.from_quote(
        "ord_1",
        "u1",
        quote_purchase(amount),
        provider="razorpay",
        provider_order_id="order_1",
        created_at=NOW,
    )


def test_full_refund_takes_back_purchase_and_bonus() -> None:
    o = order()  # 50000 + 5000 bonus, total 59000 paise
    assert refund_clawback(o, 0, o.total) == 55_000


def test_partial_refunds_add_up_to_exactly_what_was_granted() -> None:
    o = order(123_456)
    granted, refunded, taken = o.granted_credits, 0, 0
    for part in (1, 999, 33_333, 12_345, o.total - 1 - 999 - 33_333 - 12_345):
        taken += refund_clawback(o, refunded, part)
        refunded += part
    assert taken == granted
    assert refund_clawback(o, o.total, 100) == 0  # nothing beyond the total


def test_proportional_clawback_rounds_down() -> None:
    o = order()
    assert refund_clawback(o, 0, 1) == 0  # 55000 * 1 / 59000 < 1
    assert refund_clawback(o, 0, o.total // 2) == 27_500


def test_payment_mismatches_name_each_problem() -> None:
    o = order()
    good = ProviderPayment("pay_1", "order_1", o.total, "inr", ProviderPaymentStatus.CAPTURED)
    assert payment_mismatches(o, good, "order_1") == {}
    bad = ProviderPayment("pay_1", "order_2", 100, "usd", ProviderPaymentStatus.CAPTURED)
    assert set(payment_mismatches(o, bad, "order_1")) == {"order_id", "amount", "currency"}


class Full(SlotCounter):
    def __init__(self, free: int) -> None:
        self.free = free
        self.buckets: list[str] = []

    def take(self, bucket: str, limit: int, expires_at: datetime) -> bool:
        self.buckets.append(bucket)
        self.free -= 1
        return self.free >= 0


def test_rate_limit_window_and_retry_after() -> None:
    counter = Full(free=1)
    rule = RateLimit("verify", 1, 60)
    at = datetime(2030, 1, 1, 0, 0, 45, tzinfo=UTC)
    enforce_rate_limit(counter, rule, "u1", at)
    with pytest.raises(RateLimited) as raised:
        enforce_rate_limit(counter, rule, "u1", at)
    assert raised.value.retry_after_seconds == 15
    assert counter.buckets[0] == f"verify:u1:{int(at.timestamp()) - 45}"


def test_transaction_type_parameter_lists_every_entry_type() -> None:
    from typing import get_args

    from functions.transactions import EntryTypeName
    from shared.ledger.entries import EntryType

    assert list(get_args(EntryTypeName)) == [t.value for t in EntryType]
