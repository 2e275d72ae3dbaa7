"""The ledger's store port and what rides in its commits (side writes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.ledger.effects import AppendResult, EffectOutcome, EffectRequest, IdClaim
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry, Posting


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[LedgerEntry]
    next_cursor: str | None


class LedgerStore(ABC):
    """Port: where ledger entries are kept."""

    @abstractmethod
    def append_batch(self, user_id: str, requests: Sequence[EffectRequest]) -> list[EffectOutcome]:
        """Apply several effects to one account in one commit, each at most once, in order.

        An effect the account cannot afford is refused on its own; the rest still apply.
        """

    @abstractmethod
    def append(
        self,
        user_id: str,
        postings: Sequence[Posting],
        effect_key: str | None = None,
        side_writes: Sequence[SideWrite] = (),
        claim: IdClaim | None = None,
    ) -> AppendResult:
        """Append ``postings`` as the account's next entries, at most once per ``effect_key``.

        ``side_writes`` are committed atomically with the entries, and only if they are new.
        ``claim`` is created (once) with the entries; a claim for another use raises
        ``IdClaimed`` and writes nothing.
        """

    @abstractmethod
    def head(self, user_id: str) -> AccountHead:
        """Return the account's authoritative head (seq 0 if it has no entries)."""

    @abstractmethod
    def effect(self, effect_key: str) -> list[LedgerEntry] | None:
        """Return the entries of an applied effect, or None if it was never applied."""

    def expire_grants(self, user_id: str) -> None:
        """Write the expiry of the account's expired grants, if any (the expiry job)."""
        self.append_batch(user_id, [])

    @abstractmethod
    def accounts_due_to_expire(self, now: datetime, limit: int) -> list[str]:
        """Return accounts holding a grant whose expiry is at or before ``now``."""

    @abstractmethod
    def history(
        self,
        user_id: str,
        limit: int,
        cursor: str | None = None,
        entry_type: EntryType | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> HistoryPage:
        """Return entries newest first; ``since`` inclusive, ``until`` exclusive (created_at)."""


class SideWrite:
    """A change of another record that rides in the same commit as ledger entries.

    Each domain module defines its own (an order paid, a hold placed or settled) in its own
    terms; the store maps them to where and how it keeps them. It carries no precondition (the
    commit's only one guards the ledger entry).
    """

    __slots__ = ()
