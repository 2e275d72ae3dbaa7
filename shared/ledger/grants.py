"""Credit grants: every credit an account holds belongs to a grant (a lot) with its own terms.

A grant is paid (bought) or promotional (bonus, admin, campaign, welcome); it has a ``priority``
(0-100, lower first, 50 by default, as Stripe Billing's credit grants) and may expire. Grants with
the same category, priority and expiry are one lot, so an account has a bounded number of open
grants and they fit on the ledger head (see ``shared.ledger``).

The consumption order, for spending, reserving (holds) and expiring nothing early:

1. priority, lowest first (Stripe Billing, OpenMeter and Kong Metering all start here);
2. the earliest expiry first, never-expiring last (all three again): credits about to lapse are
   used before credits that would keep;
3. promotional before paid (Stripe's next rule): free credits go before bought ones, so a refund
   finds as much of what was paid for still there as it can;
4. the oldest first (Stripe's effective date, OpenMeter's creation order).

A draw is recorded as ``(grant id, credits)`` pairs on the ledger entry that made it, so every
debit says what it drew from and a void or a hold release can put exactly those credits back.

This module is pure: lists of grants in, lists of grants and draws out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from shared.errors import invalid_field

DEFAULT_PRIORITY = 50
MAX_PRIORITY = 100
# Open grants an account may have at once. Purchases share one lot per priority, so only grants
# with many distinct expiries reach it; beyond it a new grant joins a lot of its kind (``add``),
# or opens one of the few its kind needs to keep its category and expiry (``_lot_for_new_terms``).
MAX_OPEN_GRANTS = 40

NEVER = "never"


class GrantCategory(StrEnum):
    PAID = "paid"
    PROMOTIONAL = "promotional"


@dataclass(frozen=True, slots=True)
class GrantTerms:
    """What a grant is: category, priority and expiry. Equal terms are one lot."""

    category: GrantCategory
    priority: int = DEFAULT_PRIORITY
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.priority, bool)
            or not isinstance(self.priority, int)
            or not 0 <= self.priority <= MAX_PRIORITY
        ):
            raise invalid_field("priority", f"must be an integer from 0 to {MAX_PRIORITY}")
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise invalid_field("expires_at", "must carry a time zone")
            # Whole seconds in UTC: the same instant always names the same lot.
            whole = self.expires_at.astimezone(UTC).replace(microsecond=0)
            object.__setattr__(self, "expires_at", whole)

    @property
    def id(self) -> str:
        expiry = NEVER if self.expires_at is None else self.expires_at.strftime("%Y%m%dT%H%M%SZ")
        return f"{self.category.value}.{self.priority}.{expiry}"

    def expired_by(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @classmethod
    def from_id(cls, grant_id: str) -> GrantTerms:
        category, priority, expiry = grant_id.split(".")
        expires_at = (
            None
            if expiry == NEVER
            else datetime.strptime(expiry, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        )
        return cls(GrantCategory(category), int(priority), expires_at)


PAID = GrantTerms(GrantCategory.PAID)
PROMOTIONAL = GrantTerms(GrantCategory.PROMOTIONAL)


@dataclass(frozen=True, slots=True)
class Grant:
    """An open lot: credits of one set of terms still unspent (``remaining`` > 0)."""

    terms: GrantTerms
    remaining: int
    opened_at: datetime  # when its oldest credit came in: "oldest first"

    @property
    def id(self) -> str:
        return self.terms.id

    @property
    def expires_at(self) -> datetime | None:
        return self.terms.expires_at

    def expired(self, now: datetime) -> bool:
        """A grant is spendable strictly before its expiry: at ``expires_at`` it is gone."""
        return self.terms.expired_by(now)


# (grant id, credits) in the order they moved; positive added to the grant, negative taken.
Draw = tuple[str, int]


def consumption_key(grant: Grant) -> tuple[int, datetime, int, datetime, str]:
    far = datetime.max.replace(tzinfo=UTC)
    promotional_first = 0 if grant.terms.category is GrantCategory.PROMOTIONAL else 1
    return (
        grant.terms.priority,
        grant.expires_at or far,
        promotional_first,
        grant.opened_at,
        grant.id,
    )


def in_consumption_order(grants: Iterable[Grant]) -> list[Grant]:
    return sorted(grants, key=consumption_key)


def total(grants: Iterable[Grant]) -> int:
    return sum(g.remaining for g in grants)


def next_expiry(grants: Iterable[Grant]) -> datetime | None:
    expiries = [g.expires_at for g in grants if g.expires_at is not None and g.remaining > 0]
    return min(expiries, default=None)


def expire(grants: Sequence[Grant], now: datetime) -> tuple[list[Grant], list[Draw]]:
    """Take every expired grant out; return the grants left and what expired."""
    kept = [g for g in grants if not g.expired(now)]
    gone = [(g.id, -g.remaining) for g in in_consumption_order(grants) if g.expired(now)]
    return kept, [d for d in gone if d[1]]


def draw(
    grants: Sequence[Grant], amount: int, first: Sequence[str] = ()
) -> tuple[list[Grant], list[Draw], int]:
    """Take ``amount`` credits: from the grants named in ``first`` (in that order), then in
    consumption order. Return the grants left, the draws, and what they could not cover."""
    if amount < 0:
        raise ValueError("draw a positive amount")
    by_id = {g.id: g for g in grants}
    order = [by_id[i] for i in dict.fromkeys(first) if i in by_id]
    order += [g for g in in_consumption_order(grants) if g.id not in set(first)]
    left, draws = amount, []
    for grant in order:
        if left == 0:
            break
        take = min(grant.remaining, left)
        if take:
            by_id[grant.id] = replace(grant, remaining=grant.remaining - take)
            draws.append((grant.id, -take))
            left -= take
    return _open(by_id.values()), draws, left


def add(
    grants: Sequence[Grant], terms: GrantTerms, amount: int, now: datetime
) -> tuple[list[Grant], list[Draw]]:
    """Put ``amount`` credits in the lot of ``terms`` (opening it if needed)."""
    if amount <= 0:
        raise ValueError("add a positive amount")
    by_id = {g.id: g for g in grants}
    lot = by_id.get(terms.id) or _lot_for_new_terms(by_id.values(), terms, now)
    by_id[lot.id] = replace(lot, remaining=lot.remaining + amount)
    return _open(by_id.values()), [(lot.id, amount)]


def restore(
    grants: Sequence[Grant], draws: Sequence[Draw], now: datetime
) -> tuple[list[Grant], list[Draw]]:
    """Put credits back in the grants they were drawn from (``draws`` as taken, negative).

    A grant that has closed meanwhile opens again with its own terms; if it has expired, the
    caller expires it in the same commit (an expired grant is restored expired).
    """
    current = list(grants)
    moved: list[Draw] = []
    for grant_id, taken in draws:
        if taken >= 0:
            continue
        current, added = add(current, GrantTerms.from_id(grant_id), -taken, now)
        moved += added
    return current, moved


def last_credits(draws: Sequence[Draw], amount: int) -> list[Draw]:
    """The last ``amount`` credits taken by ``draws``, latest first (what a partial return
    gives back: a capture keeps the first credits a hold reserved, the soonest to expire)."""
    picked: list[Draw] = []
    left = amount
    for grant_id, taken in reversed([d for d in draws if d[1] < 0]):
        if left == 0:
            break
        part = min(-taken, left)
        picked.append((grant_id, -part))
        left -= part
    if left:
        raise ValueError("cannot return more than was drawn")
    return picked


def _lot_for_new_terms(open_grants: Iterable[Grant], terms: GrantTerms, now: datetime) -> Grant:
    grants = list(open_grants)
    # Credits returned to a lot that has expired open it even in a full account: they expire in
    # the same commit (``shared.ledger.posting.post``), so no live lot may take them in.
    expired = terms.expires_at is not None and terms.expires_at <= now
    if len(grants) < MAX_OPEN_GRANTS or expired:
        return Grant(terms, 0, now)
    # Full: join the open lot of the same category and priority that expires soonest at or
    # after these terms (the credits keep at least as long as promised), else the lot of the
    # same category that lasts longest.
    same = [g for g in grants if g.terms.category is terms.category]
    far = datetime.max.replace(tzinfo=UTC)
    want = terms.expires_at or far

    def lasting(g: Grant) -> datetime:
        return g.expires_at or far

    later = [g for g in same if lasting(g) >= want]
    if later:
        return min(later, key=lambda g: (abs(g.terms.priority - terms.priority), lasting(g)))
    if not same or terms.expires_at is None:
        # Credits of a category with no open lot, or that never expire, open a lot of their own
        # rather than change category or expire (bought credits would): once such a lot is
        # open, later ones join it, so this adds at most two lots per category.
        return Grant(terms, 0, now)
    return max(same, key=lasting)


def _open(grants: Iterable[Grant]) -> list[Grant]:
    return in_consumption_order(g for g in grants if g.remaining > 0)


def draws_total(draws: Iterable[Draw]) -> int:
    return sum(n for _, n in draws)


def note_debt_paid(paid_by: Sequence[Draw], paid: Iterable[Draw]) -> tuple[Draw, ...]:
    """Add the credits of ``paid`` (draws that paid off an overdraft) to ``paid_by``.

    One pair per grant, the latest payer last; only the ``MAX_OPEN_GRANTS`` latest are kept, so
    the record fits on the head however long the account lives (credits beyond them would come
    back as a new lot, as they did before this record existed).
    """
    credits = dict(paid_by)
    for grant_id, taken in paid:
        if taken < 0:
            credits[grant_id] = credits.pop(grant_id, 0) - taken
    return tuple(credits.items())[-MAX_OPEN_GRANTS:]


def take_debt_paid(paid_by: Sequence[Draw], amount: int) -> tuple[tuple[Draw, ...], list[Draw]]:
    """Take up to ``amount`` credits off ``paid_by``, the latest payers first; return what is
    left and the draws to ``restore`` (negative, as they were taken)."""
    left = amount
    taken: list[Draw] = []
    kept = list(paid_by)
    while left > 0 and kept:
        grant_id, credits = kept.pop()
        part = min(credits, left)
        taken.append((grant_id, -part))
        left -= part
        if credits > part:
            kept.append((grant_id, credits - part))
    return tuple(kept), taken
