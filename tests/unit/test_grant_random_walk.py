"""A seeded random walk over grants on the in-memory ledger, with the clock in the test's hands.

Each step grants (paid or promotional, any priority, often expiring), buys an order's credits
and bonus, spends, places / captures / releases holds, voids charges, checks, claws back refunds
and lost disputes (chargebacks) through the purchases' policy (overdraft included; a dispute
sometimes delivered twice), fails a standing refund for good (its credits go back), moves time
(sometimes exactly onto an expiry), or runs the expiry job. A model tracks every grant lot
independently of ``shared.ledger.grants``; after each step the ledger's invariants hold, the
head equals the model, a read as of now never counts an expired credit, and for every order
credits granted - credits clawed back <= what the money kept buys (rounded in the buyer's
favour by under one credit unit).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from shared.errors import InsufficientCredits
from shared.ledger.entries import EntryType, Posting
from shared.ledger.expiry import expire_due_grants
from shared.ledger.grants import GrantCategory, GrantTerms
from shared.ledger.invariants import invariant_violations
from shared.purchases.crediting import (
    claw_back_chargeback,
    claw_back_refund,
    grant_purchase_credits,
    restore_refund_clawback,
)
from shared.purchases.orders import CreditOrder, refund_restore_effect_key
from shared.usage.charges import UsageEvent, check_credits, record_usage, void_usage
from tests.unit.fakes.ledger import NOW, Clock, MemoryLedger
from tests.unit.fakes.stores import MemoryOrders

USER = "walker"
WINDOW = timedelta(hours=24)


@dataclass
class Model:
    """Available credits by arithmetic on what each step did; lots (grant id -> credits) moved by
    the draws each entry reports, checked never to go below zero; holds; charges."""

    available: int = 0  # below zero: credits owed after a clawback overdraft
    lots: dict[str, int] = field(default_factory=dict)
    held: int = 0
    holds: dict[str, int] = field(default_factory=dict)
    charges: dict[str, int] = field(default_factory=dict)
    voided: set[str] = field(default_factory=set)
    orders: list[str] = field(default_factory=list)  # credit order ids
    refunded: dict[str, int] = field(default_factory=dict)  # money refunded, by order
    charged_back: dict[str, int] = field(default_factory=dict)  # money lost to disputes
    clawed: dict[str, int] = field(default_factory=dict)  # credits taken back, by order
    standing: dict[str, tuple[str, int]] = field(default_factory=dict)  # refund: (order, money)

    def expired(self, now: datetime) -> None:
        for grant_id in list(self.lots):
            expiry = GrantTerms.from_id(grant_id).expires_at
            if expiry is not None and expiry <= now:
                self.available -= self.lots.pop(grant_id)


def random_terms(rng: random.Random, now: datetime) -> GrantTerms:
    category = rng.choice(list(GrantCategory))
    priority = rng.choice([0, 10, 50, 50, 50, 90])
    expiry = None
    if rng.random() < 0.6:
        expiry = now + timedelta(seconds=rng.choice([1, 30, 60, 3600, 86_400]))
    return GrantTerms(category, priority, expiry)


@pytest.mark.parametrize("seed", range(40))
def test_grants_keep_every_invariant_over_a_random_walk(seed: int) -> None:  # noqa: PLR0912
    rng = random.Random(seed)
    clock = Clock(NOW)
    ledger = MemoryLedger(clock)
    orders = MemoryOrders(ledger=ledger)
    model = Model()
    for step in range(120):
        now = clock()
        kind = rng.choices(
            [
                "grant",
                "order",
                "spend",
                "hold",
                "settle",
                "void",
                "check",
                "refund",
                "dispute",
                "fail",
                "time",
                "job",
            ],
            weights=[12, 6, 16, 6, 6, 4, 4, 3, 3, 2, 10, 3],
        )[0]
        model.expired(now)  # whatever the ledger writes next starts by expiring these
        if kind == "grant":
            amount = rng.randint(1, 500)
            terms = random_terms(rng, now)
            entries = ledger.append(USER, [Posting(EntryType.GRANT, amount, grant=terms)]).entries
            model.available += amount
            _follow(
                model,
                [d for e in entries if e.type is not EntryType.EXPIRY for d in e.draws],
                clock(),
            )
        elif kind == "order":
            order = CreditOrder(
                f"ord_{step}", USER, "razorpay", f"order_{step}", amount=0, tax=0,
                total=rng.randint(100, 5_000), currency="inr", credits=rng.randint(100, 1_000),
                bonus_credits=rng.randint(0, 100), created_at=now,
                bonus_expiry_days=rng.choice([None, 1]),
            )  # fmt: skip
            orders.create(order)
            granted = grant_purchase_credits(ledger, order, "razorpay", f"pay_{step}", now=now)
            entries = ledger.effect(order.grant_effect_key) or []
            model.available += granted.credits_granted
            model.orders.append(order.id)
            _follow(
                model,
                [d for e in entries if e.type is not EntryType.EXPIRY for d in e.draws],
                clock(),
            )
        elif kind == "spend":
            event = UsageEvent(USER, "svc", rng.randint(1, 600), f"e{step}")
            if event.amount > model.available:
                with pytest.raises(InsufficientCredits):
                    record_usage(ledger, event, "svc@test")
            else:
                record_usage(ledger, event, "svc@test")
                _follow(model, _last_draws(ledger, "usage:svc:" + event.event_id), clock())
                model.charges[event.event_id] = event.amount
                model.available -= event.amount
        elif kind == "hold":
            amount = rng.randint(1, 300)
            place = Posting(EntryType.HOLD, 0, held_delta=amount)
            if amount > model.available:
                with pytest.raises(InsufficientCredits):
                    ledger.append(USER, [place], effect_key=f"hold:h{step}:place")
            else:
                ledger.append(USER, [place], effect_key=f"hold:h{step}:place")
                _follow(model, _last_draws(ledger, f"hold:h{step}:place"), clock())
                model.holds[f"h{step}"] = amount
                model.held += amount
                model.available -= amount
        elif kind == "settle" and model.holds:
            hold_id = rng.choice(sorted(model.holds))
            amount = model.holds.pop(hold_id)
            captured = rng.randint(0, amount)
            postings = []
            if captured:
                postings.append(Posting(EntryType.HOLD_CAPTURE, -captured, held_delta=-captured))
            if amount > captured:
                postings.append(
                    Posting(
                        EntryType.HOLD_RELEASE,
                        0,
                        held_delta=captured - amount,
                        returns=f"hold:{hold_id}:place",
                    )
                )
            settle_key = f"hold:{hold_id}:settle"
            if captured and model.available + model.held - captured < 0:
                # After a clawback overdraft a capture must still fit the balance (a release of
                # the whole hold spends nothing: it always goes through).
                with pytest.raises(InsufficientCredits):
                    ledger.append(USER, postings, effect_key=settle_key)
                model.holds[hold_id] = amount
                _check(ledger, model, clock())
                continue
            entries = ledger.append(USER, postings, effect_key=settle_key).entries
            model.held -= amount
            model.available += amount - captured
            _follow(
                model,
                [d for e in entries if e.type is not EntryType.EXPIRY for d in e.draws],
                clock(),
            )
        elif kind == "void" and model.charges:
            event_id = rng.choice(sorted(model.charges))
            void = void_usage(ledger, "svc", event_id, actor="svc@test", now=now, window=WINDOW)
            assert void.replayed == (event_id in model.voided)
            if not void.replayed:
                model.voided.add(event_id)
                model.available += model.charges[event_id]
                _follow(model, _last_draws(ledger, f"void:usage:svc:{event_id}"), clock())
        elif kind == "check":
            amount = rng.randint(1, 1_000)
            check = check_credits(ledger, USER, amount, now)
            assert (check.allowed, check.available) == (amount <= model.available, model.available)
        elif kind in ("refund", "dispute") and model.orders:
            order = _stored(orders, rng.choice(model.orders))
            given_back = model.refunded.get(order.id, 0) + model.charged_back.get(order.id, 0)
            if given_back >= order.total:
                _check(ledger, model, clock())
                continue
            money = rng.choice([order.total - given_back, rng.randint(1, order.total - given_back)])
            if kind == "refund":
                claw_back_refund(
                    ledger, orders, order, refund_id=f"rfnd_{step}", refund_amount=money,
                    refunded_before=model.refunded.get(order.id, 0), provider="razorpay", now=now,
                )  # fmt: skip
                key = f"refund:rfnd_{step}"
                model.standing[f"rfnd_{step}"] = (order.id, money)
                model.refunded[order.id] = model.refunded.get(order.id, 0) + money
            else:
                for _ in range(rng.choice([1, 2])):  # a lost dispute, sometimes delivered twice
                    claw_back_chargeback(
                        ledger, orders, _stored(orders, order.id), dispute_id=f"dp_{step}",
                        amount=money, provider="razorpay", now=now,
                    )  # fmt: skip
                key = f"chargeback:dp_{step}"
                model.charged_back[order.id] = model.charged_back.get(order.id, 0) + money
            entries = ledger.effect(f"credit_order:{order.id}:{key}") or []
            taken = -sum(e.amount for e in entries if e.type is EntryType.REFUND)
            model.available -= taken
            model.clawed[order.id] = model.clawed.get(order.id, 0) + taken
            _follow(
                model,
                [d for e in entries if e.type is not EntryType.EXPIRY for d in e.draws],
                clock(),
            )
            _check_money(_stored(orders, order.id), model)
        elif kind == "fail" and model.standing:
            refund_id = rng.choice(sorted(model.standing))  # it fails for good: credits go back
            order_id, money = model.standing.pop(refund_id)
            restore_refund_clawback(
                ledger, orders, _stored(orders, order_id), refund_id=refund_id, status="failed",
                provider="razorpay", now=now,
            )  # fmt: skip
            entries = ledger.effect(refund_restore_effect_key(order_id, refund_id)) or []
            back = sum(e.amount for e in entries if e.type is EntryType.REFUND_REVERSAL)
            model.available += back
            model.clawed[order_id] -= back
            model.refunded[order_id] -= money
            _follow(
                model,
                [d for e in entries if e.type is not EntryType.EXPIRY for d in e.draws],
                clock(),
            )
            _check_money(_stored(orders, order_id), model)
        elif kind == "time":
            clock.now = now + timedelta(seconds=rng.choice([0.5, 1, 29, 30, 31, 90, 3600]))
        elif kind == "job":
            expire_due_grants(ledger, now)
        _check(ledger, model, clock())


def _stored(orders: MemoryOrders, order_id: str) -> CreditOrder:
    order = orders.get(order_id)
    assert order is not None
    return order


def _check_money(order: CreditOrder, model: Model) -> None:
    """Credits granted - credits clawed back <= what the money kept buys (rounded up), and
    never below zero nor more than was granted taken back."""
    granted, clawed = order.granted_credits, model.clawed.get(order.id, 0)
    kept = order.total - model.refunded.get(order.id, 0) - model.charged_back.get(order.id, 0)
    assert 0 <= clawed <= granted
    assert (granted - clawed) * order.total < kept * granted + order.total, (order.id, kept)


def _last_draws(ledger: MemoryLedger, key: str) -> list[tuple[str, int]]:
    return [d for e in ledger.effect(key) or [] if e.type is not EntryType.EXPIRY for d in e.draws]


def _follow(model: Model, draws: list[tuple[str, int]], now: datetime) -> None:
    """Move the model's lots as the entries say, checking no draw exceeds a lot. Expiry entries
    are left out: the model expires lots by its own clock. Credits returned to a grant that has
    expired expire at once, all of them: none pays a debt."""
    for grant_id, credits in draws:
        if GrantTerms.from_id(grant_id).expired_by(now):
            model.available -= max(credits, 0)
            continue
        after = model.lots.get(grant_id, 0) + credits
        assert after >= 0, f"drew {-credits} from {grant_id} holding {model.lots.get(grant_id)}"
        model.lots[grant_id] = after
        if after == 0:
            del model.lots[grant_id]


def _check(ledger: MemoryLedger, model: Model, now: datetime) -> None:
    entries = ledger.of(USER)
    assert invariant_violations(entries) == []
    if not entries:
        return
    # The ledger may still hold grants expired by now (not written yet): a read drops them.
    seen = ledger.head(USER).as_of(now)
    model.expired(now)
    assert (seen.available, seen.held) == (model.available, model.held)
    assert {g.id: g.remaining for g in seen.open_grants()} == model.lots
    assert sum(model.lots.values()) == max(0, model.available)


@pytest.mark.xfail(
    strict=True,
    reason="open: clawbacks are shares rounded at the money position of their time; after a"
    " refund in the middle fails, the shares that stand can leave the buyer more than one unit"
    " above what the money kept buys (found by seed 488 of 600)",
)
def test_a_failed_refund_in_the_middle_leaves_no_more_than_the_money_kept_buys() -> None:
    ledger = MemoryLedger(Clock(NOW))
    orders = MemoryOrders(ledger=ledger)
    order = CreditOrder("ord_1", USER, "razorpay", "order_1", amount=0, tax=0, total=2_487,
                        currency="inr", credits=562, bonus_credits=0, created_at=NOW)  # fmt: skip
    orders.create(order)
    grant_purchase_credits(ledger, order, "razorpay", "pay_1", now=NOW)
    for dispute_id, money in (("dp_1", 1_763), ("dp_2", 250)):
        claw_back_chargeback(ledger, orders, _stored(orders, order.id), dispute_id=dispute_id,
                             amount=money, provider="razorpay", now=NOW)  # fmt: skip
    for refund_id, money, before in (("rfnd_1", 300, 0), ("rfnd_2", 32, 300)):
        claw_back_refund(ledger, orders, _stored(orders, order.id), refund_id=refund_id,
                         refund_amount=money, refunded_before=before, provider="razorpay",
                         now=NOW)  # fmt: skip
    restore_refund_clawback(ledger, orders, _stored(orders, order.id), refund_id="rfnd_1",
                            status="failed", provider="razorpay", now=NOW)  # fmt: skip
    model = Model(refunded={order.id: 32}, charged_back={order.id: 2_013},
                  clawed={order.id: 562 - ledger.head(USER).balance})  # fmt: skip
    _check_money(_stored(orders, order.id), model)  # 442 of 2,487 kept buys 99.9 credit units
