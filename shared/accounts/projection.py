"""The balance projection: ``user_credits/{uid}`` as a copy of the ledger head plus lifetime totals.

The projection is computed from the ledger alone (the head entry, which carries the sums of
amounts by type up to its ``seq``), never from the previous projection, so any number of
deliveries in any order compute the same thing. It is written only when newer than what is
stored, and checked again after writing: if the head moved on, or a slower writer stored an older
head meanwhile (the emulator has no transaction isolation), we write again. The last write is
therefore always the newest head.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.errors import Unavailable
from shared.ledger.entries import EntryType, LedgerEntry

MAX_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class LifetimeTotals:
    """Lifetime credit units by kind, all non-negative.

    purchased: ``purchase`` entries; bonus: ``bonus``; granted: ``grant`` (admin, promotions);
    used: usage plus captured holds; refunded: credits taken back by refunds, less what refunds
    that failed gave back (``refund_reversal``).
    """

    purchased: int = 0
    bonus: int = 0
    granted: int = 0
    used: int = 0
    refunded: int = 0

    @classmethod
    def from_sums(cls, sums: Mapping[EntryType, int]) -> LifetimeTotals:
        return cls(
            purchased=sums.get(EntryType.PURCHASE, 0),
            bonus=sums.get(EntryType.BONUS, 0),
            granted=sums.get(EntryType.GRANT, 0),
            used=-(sums.get(EntryType.USAGE, 0) + sums.get(EntryType.HOLD_CAPTURE, 0)),
            refunded=-(sums.get(EntryType.REFUND, 0) + sums.get(EntryType.REFUND_REVERSAL, 0)),
        )


@dataclass(frozen=True, slots=True)
class BalanceProjection:
    user_id: str
    seq: int
    balance: int
    held: int
    totals: LifetimeTotals
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.balance - self.held


class ProjectionStore(ABC):
    """Port: the ledger reads and the projection document the projection needs."""

    @abstractmethod
    def head_entry(self, user_id: str) -> LedgerEntry | None: ...

    @abstractmethod
    def sums_by_type(self, user_id: str, up_to_seq: int) -> dict[EntryType, int]: ...

    @abstractmethod
    def projected_seq(self, user_id: str) -> int:
        """Return the ``seq`` the stored projection is at (0 when there is none)."""

    @abstractmethod
    def write_if_newer(self, projection: BalanceProjection) -> bool:
        """Store ``projection`` unless the stored one is at least as new; merge, keep settings."""


class ProjectionBehind(Unavailable):
    """The account kept moving while we projected it; the trigger is retried."""


def project(store: ProjectionStore, head: LedgerEntry) -> BalanceProjection:
    # The head entry carries the lifetime totals; only an entry from before they existed needs
    # the ledger summed.
    sums = head.totals_after
    if sums is None:
        sums = store.sums_by_type(head.user_id, head.seq)
    return BalanceProjection(
        head.user_id,
        head.seq,
        head.balance_after,
        head.held_after,
        LifetimeTotals.from_sums(sums),
        head.created_at,
    )


def sync_projection(store: ProjectionStore, entry: LedgerEntry) -> int:
    """Bring the account's projection up to its current head; return the seq it is at.

    Every round compares the stored projection with a freshly read head, so the last writer of
    all notices an older head stored after its own, and corrects it.
    """
    for _ in range(MAX_ROUNDS):
        head = store.head_entry(entry.user_id)
        if head is None or head.seq < entry.seq:
            raise ProjectionBehind("the ledger entry is not readable yet", {"seq": entry.seq})
        projected = store.projected_seq(entry.user_id)
        if projected >= head.seq:
            return projected
        store.write_if_newer(project(store, head))
    raise ProjectionBehind("the account kept moving; retry", {"user_id": entry.user_id})
