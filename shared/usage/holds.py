"""Holds: credits reserved by a service, then captured (all or part) or released.

Every step is a ledger entry: placing a hold is a ``hold`` entry (``held`` rises, ``balance`` does
not, so ``available`` drops); capturing is a ``hold_capture`` entry (balance and held fall by the
captured amount) plus a ``hold_release`` entry for the rest; releasing or expiring is one
``hold_release`` entry.

Races between capture, release and expiry are settled by the ledger itself: all three append with
the same effect key ``hold:{id}:settle``, and an effect is applied at most once, guarded by the
create of the account's next entry. Whoever loses gets the winner's entries back and answers from
them (the same outcome again is a replay; a different one is a 409).

A budget (the service client's ``BillingClient.budget``) meters many usage events against one
hold and captures them at once (``capture_metered``): each event id is recorded as used, once,
in a document of its own (the id claim a single charge of the same id would create), written in
batches, never in one hot document; the capture charges only the events not recorded before, so
an event id charged in one period is a replay in every later one, and a single charge of it is a
409. The capture entry counts its events, so usage summaries still count every event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.errors import Conflict, NotFound, invalid_field
from shared.ids import SERVICE_PATTERN, require_document_id
from shared.ledger.effects import IdClaim, IdClaimed
from shared.ledger.entries import EntryType, LedgerEntry, Posting, require_user_id
from shared.ledger.store import LedgerStore, SideWrite


class HoldStatus(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class HoldExpired(Conflict):
    """The hold's time ran out before it was captured; its credits are released."""


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    user_id: str
    service: str
    amount: int
    status: HoldStatus
    expires_at: datetime
    created_at: datetime
    captured: int = 0
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HoldPlaced(SideWrite):
    """A new hold, stored with the entry that reserves its credits."""

    hold: Hold


@dataclass(frozen=True, slots=True)
class HoldSettled(SideWrite):
    """A hold captured, released or expired, stored with the entries that settle it."""

    hold: Hold


@dataclass(frozen=True, slots=True)
class MeteredEvent:
    """One usage event metered against a hold (a budget's period)."""

    event_id: str
    amount: int


# One capture's events: a budget period's worth (the client sizes periods below it).
MAX_METERED_EVENTS = 10_000


class HoldStore(ABC):
    """Port: read holds (they are written with ledger entries: ``HoldPlaced``, ``HoldSettled``)."""

    @abstractmethod
    def record_events(
        self, hold: Hold, events: Sequence[MeteredEvent], actor: str
    ) -> list[MeteredEvent]:
        """Record each event id as used by ``hold`` (once ever); return the events it charges.

        Those are the events recorded now or by an earlier attempt of this hold's capture; an
        event id recorded for anything else (another period, a single charge) is a replay.
        """

    @abstractmethod
    def get(self, hold_id: str) -> Hold | None: ...

    @abstractmethod
    def due(self, now: datetime, limit: int) -> list[Hold]:
        """Return holds still held whose ``expires_at`` has passed, oldest first."""


@dataclass(frozen=True, slots=True)
class HoldRequest:
    user_id: str
    service: str
    amount: int
    hold_id: str
    ttl: timedelta

    def __post_init__(self) -> None:
        require_user_id(self.user_id)
        if not SERVICE_PATTERN.match(self.service):
            raise invalid_field("service", "must be 1-64 of a-z, 0-9, _.- starting alphanumeric")
        require_document_id(self.hold_id, "hold_id")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise invalid_field("amount", "must be a positive integer of credit units")


def place_hold(
    ledger: LedgerStore, holds: HoldStore, request: HoldRequest, now: datetime, actor: str
) -> Hold:
    """Reserve ``request.amount`` credits; raise ``InsufficientCredits`` if not available."""
    hold = Hold(
        request.hold_id,
        request.user_id,
        request.service,
        request.amount,
        HoldStatus.HELD,
        expires_at=now + request.ttl,
        created_at=now,
    )
    posting = Posting(
        EntryType.HOLD,
        0,
        held_delta=request.amount,
        description=f"hold {request.hold_id}",
        service=request.service,
        actor=actor,
        source={"hold_id": request.hold_id},
    )
    # Hold ids are global, not per account: claim the id for this account before placing it.
    claim = IdClaim(f"hold:{request.hold_id}", request.user_id, request.amount, actor, hold.service)
    try:
        result = ledger.append(
            request.user_id,
            [posting],
            effect_key=f"hold:{request.hold_id}:place",
            side_writes=[HoldPlaced(hold)],
            claim=claim,
        )
    except IdClaimed as claimed:
        raise _hold_id_taken(request.hold_id) from claimed
    if not result.replayed:
        return hold
    # A repeat: answer with the hold as first placed (its expiry stands), if it is the same hold.
    placed = holds.get(request.hold_id) or hold
    if (placed.user_id, placed.service, placed.amount) != (
        request.user_id,
        request.service,
        request.amount,
    ) or result.entries[0].user_id != request.user_id:
        raise _hold_id_taken(request.hold_id)
    return placed


def _hold_id_taken(hold_id: str) -> Conflict:
    return Conflict("hold_id is already used for another hold", {"hold_id": hold_id})


def capture_hold(
    ledger: LedgerStore,
    holds: HoldStore,
    hold_id: str,
    *,
    amount: int | None,
    now: datetime,
    actor: str,
    services: Collection[str],
) -> Hold:
    """Capture ``amount`` (default all) of a held hold and release the rest.

    ``services`` are those the caller acts as: another service's hold is not found.
    """
    hold = _find(holds, hold_id, services)
    captured = hold.amount if amount is None else amount
    if isinstance(captured, bool) or not 1 <= captured <= hold.amount:
        raise invalid_field("amount", f"must be between 1 and the held {hold.amount}")
    if hold.status is HoldStatus.HELD and now >= hold.expires_at:
        _settle(ledger, hold, HoldStatus.EXPIRED, now=now, actor=actor)
        raise HoldExpired("the hold has expired; its credits were released", {"hold_id": hold_id})
    return _settle(ledger, hold, HoldStatus.CAPTURED, captured=captured, now=now, actor=actor)


def capture_metered(
    ledger: LedgerStore,
    holds: HoldStore,
    hold_id: str,
    *,
    events: Sequence[MeteredEvent],
    now: datetime,
    actor: str,
    services: Collection[str],
) -> tuple[Hold, int]:
    """Capture the events metered against a hold, each id at most once ever; release the rest.

    Return the settled hold and how many of ``events`` it charged (the others were replays).
    """
    hold = _find(holds, hold_id, services)
    _check_events(events, hold.amount)
    if hold.status is not HoldStatus.HELD:
        return hold, 0  # settled already (a repeat of this capture): answered as it stands
    if now >= hold.expires_at:
        _settle(ledger, hold, HoldStatus.EXPIRED, now=now, actor=actor)
        raise HoldExpired("the hold has expired; its credits were released", {"hold_id": hold_id})
    charged = holds.record_events(hold, events, actor)
    captured = sum(event.amount for event in charged)
    if not captured:
        return _settle(ledger, hold, HoldStatus.RELEASED, now=now, actor=actor), 0
    settled = _settle(
        ledger, hold, HoldStatus.CAPTURED, captured=captured, now=now, actor=actor,
        events=len(charged),
    )  # fmt: skip
    return settled, len(charged)


def _check_events(events: Sequence[MeteredEvent], held: int) -> None:
    if not 1 <= len(events) <= MAX_METERED_EVENTS:
        raise invalid_field("events", f"between 1 and {MAX_METERED_EVENTS} events")
    if len({event.event_id for event in events}) != len(events):
        raise invalid_field("events", "each event_id at most once")
    for event in events:
        require_document_id(event.event_id, "events.event_id")
        if isinstance(event.amount, bool) or not isinstance(event.amount, int) or event.amount < 1:
            raise invalid_field("events.amount", "must be a positive integer of credit units")
    if sum(event.amount for event in events) > held:
        raise invalid_field("events", f"amounts total more than the held {held}")


def release_hold(
    ledger: LedgerStore,
    holds: HoldStore,
    hold_id: str,
    *,
    now: datetime,
    actor: str,
    services: Collection[str],
) -> Hold:
    """Release every credit of a held hold of one of ``services``."""
    hold = _find(holds, hold_id, services)
    return _settle(ledger, hold, HoldStatus.RELEASED, now=now, actor=actor)


def expire_due_holds(ledger: LedgerStore, holds: HoldStore, now: datetime, limit: int = 100) -> int:
    """Release holds whose time has run out; return how many this call expired."""
    expired = 0
    for hold in holds.due(now, limit):
        try:
            _settle(ledger, hold, HoldStatus.EXPIRED, now=now, actor="scheduler")
        except Conflict:
            continue  # captured or released meanwhile: nothing left to expire
        expired += 1
    return expired


def _settle(
    ledger: LedgerStore,
    hold: Hold,
    outcome: HoldStatus,
    *,
    captured: int = 0,
    now: datetime,
    actor: str,
    events: int | None = None,
) -> Hold:
    settled = replace(hold, status=outcome, captured=captured, settled_at=now)
    if hold.status is not HoldStatus.HELD:
        return _same_outcome_or_conflict(hold, settled)
    source = {"hold_id": hold.hold_id, "outcome": outcome.value}
    if events is not None:
        source["events"] = str(events)  # a budget's capture: usage summaries count its events
    postings = []
    if captured:
        postings.append(
            Posting(
                EntryType.HOLD_CAPTURE,
                -captured,
                held_delta=-captured,
                description=f"capture of hold {hold.hold_id}",
                service=hold.service,
                actor=actor,
                source=source,
            )
        )
    if hold.amount > captured:
        postings.append(
            Posting(
                EntryType.HOLD_RELEASE,
                0,
                held_delta=-(hold.amount - captured),
                description=f"{outcome.value} hold {hold.hold_id}: release",
                service=hold.service,
                actor=actor,
                source=source,
                returns=f"hold:{hold.hold_id}:place",  # the credits go back to their grants
            )
        )
    result = ledger.append(
        hold.user_id,
        postings,
        effect_key=f"hold:{hold.hold_id}:settle",
        side_writes=[HoldSettled(settled)],
    )
    if result.replayed:
        return _same_outcome_or_conflict(_from_settlement(hold, result.entries), settled)
    return settled


def _same_outcome_or_conflict(current: Hold, wanted: Hold) -> Hold:
    """A repeat of the settlement that happened answers the same; anything else is a 409."""
    if current.status is wanted.status and current.captured == wanted.captured:
        return current
    if current.status is HoldStatus.EXPIRED:
        raise HoldExpired(
            "the hold has expired; its credits were released", {"hold_id": current.hold_id}
        )
    raise Conflict(
        f"the hold is already {current.status.value}",
        {"hold_id": current.hold_id, "status": current.status.value},
    )


def _from_settlement(hold: Hold, entries: list[LedgerEntry]) -> Hold:
    outcome = HoldStatus(entries[0].source.get("outcome", HoldStatus.RELEASED.value))
    captured = -sum(e.amount for e in entries if e.type is EntryType.HOLD_CAPTURE)
    return replace(hold, status=outcome, captured=captured, settled_at=entries[0].created_at)


def _find(holds: HoldStore, hold_id: str, services: Collection[str]) -> Hold:
    hold = holds.get(require_document_id(hold_id, "hold_id"))
    # A hold belongs to the service that placed it; to any other it does not exist.
    if hold is None or hold.service not in services:
        raise NotFound("no such hold", {"hold_id": hold_id})
    return hold
