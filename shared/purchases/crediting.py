"""The one provider-neutral path that turns a paid order into credits, and takes them back.

Exactly-once grant: ``grant_purchase_credits`` appends the purchase and bonus entries under the
effect key ``credit_order:{order_id}:grant`` and marks the order paid in the same commit (a side
write), so whichever of checkout verification or webhook arrives first grants and the other finds
the effect already applied. Razorpay calls it with the payment id; Stripe's
``payment_intent.succeeded`` can call it with ``provider="stripe"`` and the PaymentIntent id.

Refund clawback policy: a refund takes back credits in proportion to the money refunded, bonus
included, as one ``refund`` entry per provider refund (effect key per refund id). The entry may
take the balance below zero, but only by credits of this order that were already spent: the
clawback never exceeds what the order granted, and a negative balance is recorded explicitly on
the order (``refunds.{id}.overdraft``) and visible as the entry's ``balance_after``.
A refund taken back while it was pending (or reported succeeded) that then fails or is canceled
for good gives back what its clawback took, once, as a ``refund_reversal`` entry
(``restore_refund_clawback``): all of it, less a rounding credit when the refunds and chargebacks
that stand keep it (the credits taken back are then the share of the money still given back,
rounded down, as if the failed refund had never been); one waiting for the customer's action
(Stripe's ``requires_action``) keeps its credits taken. If the provider later lists a restored
refund as returning money after all, what its restore gave back is taken back again
(``reclaim_refund``): each clawback and restore of a refund is an episode with effect keys of
its own (``refund_effect_key``).
The last refund of an order (the money refunded reaches its total) takes back the remainder of
what the order granted, not a rounded share, so refunds adding up to the order take back
exactly what it granted even after one in the middle failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.ledger.effects import AppendResult
from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import PAID, GrantCategory, GrantTerms
from shared.ledger.store import LedgerStore
from shared.log import get_logger
from shared.money import credits_text
from shared.purchases.orders import (
    ChargebackOverdraft,
    ChargebackRecorded,
    CreditOrder,
    DisputeStateRecorded,
    OrderChange,
    OrderFailed,
    OrderFlagged,
    OrderPaid,
    OrderStatus,
    OrderStatusChanged,
    OrderStore,
    RefundOverdraft,
    RefundRecorded,
    RefundRestored,
    chargeback_effect_key,
    refund_effect_key,
    refund_restore_effect_key,
)
from shared.purchases.tax_documents import TaxDocuments

log = get_logger("payments")


@dataclass(frozen=True, slots=True)
class GrantResult:
    order_id: str
    credits_granted: int
    balance: int
    replayed: bool


def grant_purchase_credits(
    ledger: LedgerStore,
    order: CreditOrder,
    provider: str,
    provider_payment_id: str,
    *,
    now: datetime,
    event_id: str | None = None,
    documents: TaxDocuments | None = None,
) -> GrantResult:
    """Grant an order's purchase and bonus credits once, and mark it paid in the same commit.

    Provider-neutral: ``provider_payment_id`` is Razorpay's payment id or Stripe's PaymentIntent
    id. Calling it again (verify after webhook, a replayed event) changes nothing, but issues
    the order's tax invoice if a crash left it unissued (``documents``: issued once).
    """
    source = {"provider": provider, "order_id": order.id, "payment_id": provider_payment_id}
    if event_id:
        source["event_id"] = event_id
    postings = [
        Posting(
            EntryType.PURCHASE,
            order.credits,
            description=f"Purchase of {credits_text(order.credits)} credits (order {order.id})",
            source=source,
            grant=PAID,
        )
    ]
    if order.bonus_credits:
        days = order.bonus_expiry_days
        postings.append(
            Posting(
                EntryType.BONUS,
                order.bonus_credits,
                description=f"Bonus of {credits_text(order.bonus_credits)} credits"
                f" (order {order.id})",
                source=source,
                grant=GrantTerms(
                    GrantCategory.PROMOTIONAL,
                    expires_at=None if days is None else now + timedelta(days=days),
                ),
            )
        )
    paid = OrderPaid(order.id, provider_payment_id, now)
    result: AppendResult = ledger.append(
        order.user_id, postings, effect_key=order.grant_effect_key, side_writes=[paid]
    )
    if not result.replayed:
        outcome = {"kind": "credit_purchase", "provider": provider, "outcome": "succeeded"}
        log.info("payment outcome", extra=outcome)
    if documents is not None:
        documents.order_paid(order, provider_payment_id, order.paid_at or now)
    granted = sum(entry.amount for entry in result.entries)
    # On a replay the effect's own head is history: answer with today's balance.
    balance = ledger.head(order.user_id).balance if result.replayed else result.head.balance
    return GrantResult(order.id, granted, balance, result.replayed)


def mark_failed(orders: OrderStore, order: CreditOrder, failure: Mapping[str, Any]) -> None:
    """Record a failed payment attempt; a paid order stays paid (forward only).

    Race-safe without transactions: the grant writes ``paid_at`` with ``status``; if a grant
    lands between our read and our write, the re-read sees ``paid_at`` and restores ``paid``.
    """
    if order.status is OrderStatus.PAID:
        return
    orders.update(OrderFailed(order.id, dict(failure)))
    outcome = {"kind": "credit_purchase", "provider": order.provider, "outcome": "failed"}
    log.info("payment outcome", extra=outcome)
    again = orders.get(order.id)
    if again is not None and again.paid_at is not None:
        orders.update(OrderStatusChanged(order.id, OrderStatus.PAID))


def flag_order(orders: OrderStore, order_id: str, flag: str, details: Mapping[str, Any]) -> None:
    """Record a problem (e.g. an amount mismatch) on the order for a person to look at."""
    orders.update(OrderFlagged(order_id, flag, dict(details)))


def refund_clawback(order: CreditOrder, refunded_before: int, refund_amount: int) -> int:
    """Credits to take back for a refund of ``refund_amount`` after ``refunded_before`` (money).

    Proportional to the money refunded, bonus included. Computed on the cumulative refunded
    amount (rounded down each time), so partial refunds that add up to the total take back
    exactly what was granted, never more.
    """
    if refund_amount <= 0 or order.total <= 0:
        return 0
    before = min(max(refunded_before, 0), order.total)
    after = min(before + refund_amount, order.total)
    granted = order.granted_credits
    return granted * after // order.total - granted * before // order.total


def credits_for_money(order: CreditOrder, money: int) -> int:
    """The credits that ``money`` of the order given back takes back in all: the order's grant in
    proportion, rounded down (the buyer keeps the rounding), and all of it for the whole total.

    Every clawback and give-back of an order moves the credits taken back towards this share of
    the money given back so far, so no rounding of an episode that failed stays behind.
    """
    if order.total <= 0:
        return 0
    return order.granted_credits * min(max(money, 0), order.total) // order.total


def _share_to_take(order: CreditOrder, money_before: int, money: int, left: int) -> int:
    """Credits to take back for ``money`` given back after ``money_before``: up to the share of
    the money given back in all (``credits_for_money``), less what that earlier money took.

    What it took is its share, or what the order records as taken back (``granted - left``)
    when that is more: a give-back that kept a rounding credit, or a failed refund whose credits
    go back after this clawback, counts, so the total stays at the share of the money. Never
    more than the share alone would take (a record read before a concurrent clawback landed
    shows less taken, and the share counts).
    """
    if money <= 0:
        return 0
    taken = max(credits_for_money(order, money_before), order.granted_credits - left)
    return credits_for_money(order, money_before + money) - taken


@dataclass(frozen=True, slots=True)
class RefundEpisode:
    """One clawback of a refund, and whether (and how much of it) was given back since."""

    number: int
    credits: int
    restored: bool
    given_back: int = 0  # what its give-back returned: all its credits, or one fewer (rounding)


def _episode(number: int, record: Mapping[str, Any]) -> RefundEpisode:
    credits = int(record.get("credits") or 0)
    restored = record.get("restored")
    if restored is None:
        return RefundEpisode(number, credits, False)
    given_back = restored.get("credits") if isinstance(restored, Mapping) else None
    return RefundEpisode(number, credits, True, credits if given_back is None else int(given_back))


def refund_episodes(record: Mapping[str, Any]) -> list[RefundEpisode]:
    """The clawback episodes of one refund of an order (its ``refunds.{id}`` record), in order."""
    later = record.get("episodes") or {}
    episodes = [_episode(1, record)]
    episodes += [_episode(int(number), later[number]) for number in sorted(later, key=int)]
    return episodes


def credits_taken_back(record: Mapping[str, Any]) -> int:
    """What a refund's clawbacks took back and still keep (a give-back returned its part)."""
    return sum(e.credits - e.given_back for e in refund_episodes(record))


def _left_to_take(order: CreditOrder, refund_id: str) -> int:
    """What the order granted less what its other refunds and its chargebacks keep taken back."""
    others = sum(credits_taken_back(r) for i, r in order.refunds.items() if i != refund_id)
    charged_back = sum(int(c.get("credits") or 0) for c in order.chargebacks.values())
    return order.granted_credits - others - charged_back


def _refunded_by_others(order: CreditOrder, refund_id: str) -> int:
    """The money of the order's other refunds whose last clawback stands, as the order shows."""
    return sum(
        int(record.get("amount") or 0)
        for i, record in order.refunds.items()
        if i != refund_id and not refund_episodes(record)[-1].restored
    )


def claw_back_refund(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    *,
    refund_id: str,
    refund_amount: int,
    refunded_before: int,
    provider: str,
    now: datetime,
    documents: TaxDocuments | None = None,
) -> AppendResult | None:
    """Take back the credits of one provider refund, once per refund id (see module policy).

    The refund's credit note (``documents``) is issued once it is recorded.
    """
    left = _left_to_take(order, refund_id)
    # Money lost to chargebacks went back before this refund too (the provider's refunded-before
    # leaves it out): counted, a refund of what a chargeback left is the last one.
    charged_back = sum(int(c.get("amount") or 0) for c in order.chargebacks.values())
    credits = _share_to_take(order, refunded_before + charged_back, refund_amount, left)
    last = refunded_before + charged_back + refund_amount >= order.total
    if last and _refunded_by_others(order, refund_id) == refunded_before:
        # The last refund takes the remainder, whatever earlier shares rounded to. Only when the
        # order shows every earlier refund: a stale read (a concurrent clawback not recorded yet)
        # keeps the proportional share, which can never take the credits of another refund.
        credits = left
    credits = max(0, min(credits, left))
    result = _take_back(
        ledger,
        orders,
        order,
        refund_id=refund_id,
        refund_amount=refund_amount,
        credits=credits,
        provider=provider,
        now=now,
        episode=1,
    )
    if documents is not None:
        documents.refund_recorded(order, refund_id, refund_amount, refunded_before)
    return result


def reclaim_refund(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    *,
    refund_id: str,
    refund_amount: int,
    provider: str,
    now: datetime,
) -> AppendResult | None:
    """Take a restored refund's credits back again: its provider lists it returning money after
    all. A new episode, under effect keys of its own; nothing if its last one is not restored."""
    record = order.refunds.get(refund_id) or {}
    episodes = refund_episodes(record)
    if not episodes[-1].restored:
        return None
    # What the give-back returned (a rounding credit it kept still counts as taken).
    left = _left_to_take(order, refund_id) - credits_taken_back(record)
    credits = max(0, min(episodes[-1].given_back, left))
    return _take_back(
        ledger,
        orders,
        order,
        refund_id=refund_id,
        refund_amount=refund_amount,
        credits=credits,
        provider=provider,
        now=now,
        episode=episodes[-1].number + 1,
    )


def _take_back(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    *,
    refund_id: str,
    refund_amount: int,
    credits: int,
    provider: str,
    now: datetime,
    episode: int,
) -> AppendResult | None:
    record = RefundRecorded(order.id, refund_id, refund_amount, credits, now, episode)
    return _take_credits(
        ledger,
        orders,
        order,
        credits,
        description=f"Refund {refund_id} on order {order.id}: {credits_text(credits)} credits",
        source={"provider": provider, "order_id": order.id, "refund_id": refund_id},
        effect_key=refund_effect_key(order.id, refund_id, episode),
        record=record,
        overdraft=lambda spent: RefundOverdraft(order.id, refund_id, spent, episode),
    )


def claw_back_chargeback(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    *,
    dispute_id: str,
    amount: int,
    provider: str,
    now: datetime,
) -> AppendResult | None:
    """Take back the credits of a lost dispute as a refund of ``amount`` would, once per dispute.

    The money the order already gave back (refunds whose clawback stands, other chargebacks)
    counts as refunded before it, so a chargeback after a partial refund takes only the rest,
    and one that brings the money given back to the total takes the remainder of what the order
    granted. A dispute already settled changes nothing (its record would be recomputed on itself).
    """
    if dispute_id in order.chargebacks:
        return None
    before = money_given_back(order)
    left = _left_to_take(order, "")
    credits = _share_to_take(order, before, amount, left)
    if before + amount >= order.total:
        credits = left
    credits = max(0, min(credits, left))
    record = ChargebackRecorded(order.id, dispute_id, amount, credits, now)
    return _take_credits(
        ledger,
        orders,
        order,
        credits,
        description=f"Chargeback {dispute_id} on order {order.id}: {credits_text(credits)} credits",
        source={"provider": provider, "order_id": order.id, "dispute_id": dispute_id},
        effect_key=chargeback_effect_key(order.id, dispute_id),
        record=record,
        overdraft=lambda spent: ChargebackOverdraft(order.id, dispute_id, spent),
    )


def money_given_back(order: CreditOrder) -> int:
    """Money of ``order`` returned to the buyer so far: refunds whose clawback stands, and
    chargebacks."""
    chargebacks = sum(int(c.get("amount") or 0) for c in order.chargebacks.values())
    return _refunded_by_others(order, "") + chargebacks


def _take_credits(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    credits: int,
    *,
    description: str,
    source: Mapping[str, str],
    effect_key: str,
    record: RefundRecorded | ChargebackRecorded,
    overdraft: Callable[[int], OrderChange],
) -> AppendResult | None:
    """Take ``credits`` of the order back once under ``effect_key``, into debt if spent.

    Nothing to take (a share that rounds to zero) still records the refund or chargeback."""
    if credits == 0:
        orders.update(record)
        return None
    posting = Posting(
        EntryType.REFUND,
        -credits,
        description=description,
        source=dict(source),
        allow_negative=True,  # the documented clawback overdraft: credits already spent
        takes_first=order.grant_effect_key,  # the order's own grants, paid part and bonus
    )
    result = ledger.append(order.user_id, [posting], effect_key=effect_key, side_writes=[record])
    balance_after = result.entries[-1].balance_after
    if balance_after < 0:
        # Explicit record of the overdraft: at most the credits of this order already spent.
        orders.update(overdraft(min(credits, -balance_after)))
    return result


def record_dispute(
    orders: OrderStore, order_id: str, dispute_id: str, event: str, details: Mapping[str, Any]
) -> None:
    """Record a state a dispute reached on the order (credits are not touched).

    Each status is kept under its own key and the highest-ranked one is the dispute's status
    (``shared.payments.disputes``): a late ``payment.dispute.created`` never reopens a won dispute.
    """
    status = str(details.get("status"))
    state = {"event": event, **dict(details)}
    orders.update(DisputeStateRecorded(order_id, dispute_id, status, state))


def restore_refund_clawback(
    ledger: LedgerStore,
    orders: OrderStore,
    order: CreditOrder,
    *,
    refund_id: str,
    status: str,
    provider: str,
    now: datetime,
) -> AppendResult | None:
    """Give back the credits a refund's last clawback took, once, when the refund failed or was
    canceled for good.

    A ``refund_reversal`` entry: it undoes a refund (lifetime ``total_refunded`` counts only
    money that went back) and no admin decided it. The credits go back to the grants the
    clawback drew from and cancel the debt it ran up, and credits that paid that debt since go
    back to their grants (one that has expired since takes them back expired, as a void's do).
    How many: ``_credits_to_give_back``. The order's refund record shows it
    (``refunds.{id}.restored.credits``, or ``refunds.{id}.episodes.{n}.restored`` for a later
    episode); none to give back records it restored with no entry.
    """
    refund = order.refunds.get(refund_id) or {}
    last = refund_episodes(refund)[-1]
    if last.restored:
        return None  # given back already
    # One that took nothing is recorded restored all the same: its money no longer counts as
    # given back before the order's later refunds and chargebacks.
    credits = _credits_to_give_back(order, refund_id, refund, last) if last.credits > 0 else 0
    record = RefundRestored(order.id, refund_id, credits, status, now, last.number)
    if credits == 0:
        orders.update(record)
        return None
    posting = Posting(
        EntryType.REFUND_REVERSAL,
        credits,
        description=(
            f"Refund {refund_id} on order {order.id} {status}: "
            f"{credits_text(credits)} credits given back"
        ),
        source={"provider": provider, "order_id": order.id, "refund_id": refund_id},
        # to the grants the clawback took from
        returns=refund_effect_key(order.id, refund_id, last.number),
    )
    return ledger.append(
        order.user_id,
        [posting],
        effect_key=refund_restore_effect_key(order.id, refund_id, last.number),
        side_writes=[record],
    )


def _credits_to_give_back(
    order: CreditOrder, refund_id: str, refund: Mapping[str, Any], last: RefundEpisode
) -> int:
    """What a failed refund's give-back returns: what its last clawback took, less what the
    money still given back keeps taken.

    Each clawback was a share rounded at the money position of its time; giving one back whole
    would leave the shares that stand rounded against money that no longer precedes them (the
    buyer could keep more than a unit above what the money kept buys). So the credits taken
    back become the share of the money that stays given back (``credits_for_money``), moving by
    at most what the episode took: usually all of it, at times one credit fewer.
    """
    taken = order.granted_credits - _left_to_take(order, refund_id) + credits_taken_back(refund)
    charged_back = sum(int(c.get("amount") or 0) for c in order.chargebacks.values())
    kept_taken = credits_for_money(order, _refunded_by_others(order, refund_id) + charged_back)
    return max(0, min(last.credits, taken - kept_taken))
