"""Usage reported by other services: each event is charged exactly once per (service, event_id).

The ledger's effect key is the guard: ``usage:{service}:{event_id}``, claimed across accounts
(see ``IdClaim``). A repeat of the same event gets the first answer back; a repeat with a
different account, amount or caller is a conflict that says nothing of the first charge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.errors import BillingError, Conflict, NotFound, invalid_field
from shared.ids import SERVICE_PATTERN, require_document_id
from shared.ledger.effects import AppendResult, EffectOutcome, EffectRequest, IdClaim, IdClaimed
from shared.ledger.entries import EntryType, Posting, require_user_id
from shared.ledger.store import LedgerStore

MAX_BATCH = 100
MAX_METADATA_ENTRIES = 20


@dataclass(frozen=True, slots=True)
class UsageEvent:
    user_id: str
    service: str
    amount: int
    event_id: str
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_user_id(self.user_id)
        if not SERVICE_PATTERN.match(self.service):
            raise invalid_field("service", "must be 1-64 of a-z, 0-9, _.- starting alphanumeric")
        require_document_id(self.event_id, "event_id")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise invalid_field("amount", "must be a positive integer of credit units")
        if len(self.metadata) > MAX_METADATA_ENTRIES:
            raise invalid_field("metadata", f"at most {MAX_METADATA_ENTRIES} entries")

    @property
    def effect_key(self) -> str:
        return usage_effect_key(self.service, self.event_id)


def usage_effect_key(service: str, event_id: str) -> str:
    return f"usage:{service}:{event_id}"


@dataclass(frozen=True, slots=True)
class UsageCharge:
    """The answer to a usage event; the same on every repeat of the event."""

    event_id: str
    transaction_id: str
    balance_after: int
    replayed: bool


def _posting(event: UsageEvent, actor: str) -> Posting:
    source = {"event_id": event.event_id, **{f"metadata.{k}": v for k, v in event.metadata.items()}}
    return Posting(
        EntryType.USAGE,
        -event.amount,
        description=event.description,
        service=event.service,
        actor=actor,
        source=source,
    )


def _claim(event: UsageEvent, actor: str) -> IdClaim:
    return IdClaim(event.effect_key, event.user_id, event.amount, actor)


def _reused(event: UsageEvent) -> Conflict:
    # Only the caller's own event id: the account it was charged to stays unsaid.
    return Conflict(
        "event_id was already used for a different account, amount or caller",
        {"event_id": event.event_id},
    )


def _charge(event: UsageEvent, result: AppendResult) -> UsageCharge:
    entry = result.entries[0]
    # Events charged before claims existed are guarded by their entries alone.
    if result.replayed and (entry.user_id != event.user_id or entry.amount != -event.amount):
        raise _reused(event)
    return UsageCharge(event.event_id, entry.id, entry.balance_after, result.replayed)


def record_usage(ledger: LedgerStore, event: UsageEvent, actor: str) -> UsageCharge:
    """Deduct ``event.amount`` once; raise ``InsufficientCredits`` (nothing deducted) if short."""
    try:
        result = ledger.append(
            event.user_id,
            [_posting(event, actor)],
            effect_key=event.effect_key,
            claim=_claim(event, actor),
        )
    except IdClaimed as claimed:
        raise _reused(event) from claimed
    return _charge(event, result)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """One event's result in a batch: a charge or the error it met."""

    event_id: str
    charge: UsageCharge | None = None
    error: BillingError | None = None


def record_usage_batch(
    ledger: LedgerStore, events: Sequence[UsageEvent], actor: str
) -> list[BatchOutcome]:
    """Charge each event exactly once, in order; one refused event stops no other.

    Events of one account are applied in one ledger commit (one read, one write), so a batch
    costs round trips per account, not per event.
    """
    if len(events) > MAX_BATCH:
        raise invalid_field("events", f"at most {MAX_BATCH} events per batch")
    by_account: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        by_account.setdefault(event.user_id, []).append(index)
    outcomes: dict[int, BatchOutcome] = {}
    for user_id, indexes in by_account.items():
        requests = [
            EffectRequest(
                [_posting(events[i], actor)], events[i].effect_key, _claim(events[i], actor)
            )
            for i in indexes
        ]
        for index, outcome in zip(indexes, ledger.append_batch(user_id, requests), strict=True):
            outcomes[index] = _batch_outcome(events[index], outcome)
    return [outcomes[index] for index in range(len(events))]


def _batch_outcome(event: UsageEvent, outcome: EffectOutcome) -> BatchOutcome:
    if isinstance(outcome.error, IdClaimed):
        return BatchOutcome(event.event_id, error=_reused(event))
    if outcome.result is None:
        return BatchOutcome(event.event_id, error=outcome.error)
    try:
        return BatchOutcome(event.event_id, charge=_charge(event, outcome.result))
    except Conflict as conflict:
        return BatchOutcome(event.event_id, error=conflict)


@dataclass(frozen=True, slots=True)
class Void:
    """A usage charge taken back: its credits returned to the grants they came from."""

    event_id: str
    transaction_id: str
    amount: int
    balance_after: int
    replayed: bool


class VoidWindowClosed(Conflict):
    """The charge is older than the window in which its service may void it."""


def void_usage(
    ledger: LedgerStore,
    service: str,
    event_id: str,
    *,
    actor: str,
    now: datetime,
    window: timedelta,
) -> Void:
    """Take back one usage charge of ``service``, exactly once; a repeat answers the first.

    The credits go back to the grants the charge drew from; a grant that has expired since
    takes them back expired (the void's commit writes their expiry too). Only within ``window``
    of the charge: after that, what was charged stands (as Stripe's meter event cancellations).
    """
    require_document_id(event_id, "event_id")
    charge_key = usage_effect_key(service, event_id)
    charged = ledger.effect(charge_key)
    if not charged:
        raise NotFound(
            "no usage charge with this event_id for this service", {"event_id": event_id}
        )
    charge = charged[0]
    posting = Posting(
        EntryType.VOID,
        -charge.amount,
        description=f"void of usage event {event_id}",
        service=service,
        actor=actor,
        source={"event_id": event_id, "transaction_id": charge.id},
        returns=charge_key,
    )
    void_key = f"void:{charge_key}"
    if now - charge.created_at > window and ledger.effect(void_key) is None:
        raise VoidWindowClosed(
            "the charge is past its void window",
            {"event_id": event_id, "charged_at": charge.created_at},
        )
    result = ledger.append(charge.user_id, [posting], effect_key=void_key)
    entry = result.entries[0]
    return Void(event_id, entry.id, entry.amount, result.head.balance, result.replayed)


@dataclass(frozen=True, slots=True)
class CreditCheck:
    allowed: bool
    available: int


def check_credits(ledger: LedgerStore, user_id: str, amount: int, now: datetime) -> CreditCheck:
    """Could the account spend ``amount`` now? One read, no write; expired credits not counted."""
    require_user_id(user_id)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise invalid_field("amount", "must be a positive integer of credit units")
    available = ledger.head(user_id).as_of(now).available
    return CreditCheck(amount <= available, available)
