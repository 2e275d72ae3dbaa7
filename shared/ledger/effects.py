"""Effects: external changes applied at most once each, under an effect key, in batches.

Pure: which effects of a batch apply, replay or are refused, and which id claims they need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.errors import BillingError, Conflict, InsufficientCredits
from shared.ledger.entries import AccountHead, LedgerEntry, Posting, expiry_entry
from shared.ledger.posting import post


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the entries of the effect, and whether they already existed."""

    entries: list[LedgerEntry]
    replayed: bool = False

    @property
    def head(self) -> AccountHead:
        return self.entries[-1].head


@dataclass(frozen=True, slots=True)
class IdClaim:
    """A caller's id that is unique across accounts (usage event, hold, admin key) and its use.

    The effect key guards one account only; the claim, created in the ledger commit and
    never changed, ties the id to one account, amount, caller and ``terms`` (anything else
    that must be the same on a repeat, e.g. the endpoint).
    """

    key: str
    account: str
    amount: int
    caller: str
    terms: str = ""

    def same_use(self, other: IdClaim) -> bool:
        return (self.account, self.amount, self.caller, self.terms) == (
            other.account,
            other.amount,
            other.caller,
            other.terms,
        )


class IdClaimed(Conflict):
    """The id is claimed for another account, amount or caller; says nothing of which."""

    def __init__(self) -> None:
        super().__init__("this id is already used for another account, amount or caller")


@dataclass(frozen=True, slots=True)
class EffectRequest:
    """One external effect to apply at most once: its postings, under its effect key."""

    postings: Sequence[Posting]
    effect_key: str | None = None
    claim: IdClaim | None = None


@dataclass(frozen=True, slots=True)
class EffectOutcome:
    """What became of one effect of a batch: applied or replayed, or refused (credits, claim)."""

    result: AppendResult | None = None
    error: BillingError | None = None


# One commit holds each effect's id claim, entries and effect record plus the head pointer (and
# an expiry entry, a legacy pointer's delete): 150 one-entry effects are ~453 writes, under
# Firestore's 500 per commit.
MAX_EFFECTS_PER_COMMIT = 150


def plan_effects(
    head: AccountHead,
    requests: Sequence[EffectRequest],
    replays: Mapping[str, list[LedgerEntry]],
    now: datetime,
    claims: Mapping[str, IdClaim] | None = None,
) -> tuple[list[EffectOutcome], list[AppendResult]]:
    """Decide, in order, what each effect does after ``head``; return outcomes and new results.

    An effect whose id is claimed (in ``claims``) for another use is refused, before anything
    else, so that no other account's entries reach its caller; an effect already applied (in
    ``replays``, or earlier in this batch) is replayed; one the account cannot afford is refused
    alone; the others are numbered one after another.
    """
    outcomes: list[EffectOutcome] = []
    fresh: list[AppendResult] = []
    applied: dict[str, list[LedgerEntry]] = {}
    # Grants expired by now leave first, in the same commit: nothing below can spend them.
    lapsed = expiry_entry(head, now, None)
    current = lapsed.head if lapsed else head
    for request in requests:
        claimed = (claims or {}).get(request.claim.key) if request.claim else None
        if request.claim and claimed and not claimed.same_use(request.claim):
            outcomes.append(EffectOutcome(error=IdClaimed()))
            continue
        key = request.effect_key
        earlier = (replays.get(key) or applied.get(key)) if key else None
        if earlier:
            outcomes.append(EffectOutcome(AppendResult(earlier, replayed=True)))
            continue
        try:
            entries = post(current, request.postings, now, key, {**replays, **applied})
        except InsufficientCredits as error:
            outcomes.append(EffectOutcome(error=error))
            continue
        if key:
            applied[key] = entries
        result = AppendResult(entries)
        fresh.append(result)
        outcomes.append(EffectOutcome(result))
        current = result.head
    if lapsed and (fresh or not requests):  # no requests at all: a sweep writes the expiry
        fresh.insert(0, AppendResult([lapsed]))
    return outcomes, fresh


def related_keys(requests: Sequence[EffectRequest]) -> list[str]:
    """The effects the requests' postings name, to be read with the head."""
    keys = {
        key
        for request in requests
        for posting in request.postings
        for key in (posting.takes_first, posting.returns)
        if key
    }
    return sorted(keys)


def claims_to_make(
    requests: Sequence[EffectRequest],
    outcomes: Sequence[EffectOutcome],
    claims: Mapping[str, IdClaim],
) -> list[IdClaim]:
    """Return the claims the newly applied effects need and that are not stored yet."""
    return [
        request.claim
        for request, outcome in zip(requests, outcomes, strict=True)
        if request.claim is not None
        and request.claim.key not in claims
        and outcome.result is not None
        and not outcome.result.replayed
    ]
