"""Credit accounts as clients see them: balance, held, available, threshold, lifetime totals.

The balance comes from the ledger head (authoritative). The user's own settings live in the
``settings`` map of the account document, beside the head pointer that every ledger commit
writes there; each is written by field, so they never clobber each other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from shared.accounts.alerts import DEFAULT_LOW_BALANCE_THRESHOLD
from shared.errors import invalid_field
from shared.ledger.entries import AccountHead, EntryType, Posting
from shared.ledger.grants import PROMOTIONAL, Grant, GrantTerms, next_expiry
from shared.ledger.store import LedgerStore

MAX_LOW_BALANCE_THRESHOLD = 100_000_000  # credit units: ₹10,00,000, far above any real need


class AccountStore(ABC):
    """Port: per-user settings and lifetime totals."""

    @abstractmethod
    def settings(self, user_id: str) -> Mapping[str, object]:
        """Return the user's stored settings (empty when none were ever set)."""

    @abstractmethod
    def merge_settings(self, user_id: str, settings: Mapping[str, object]) -> None: ...

    @abstractmethod
    def snapshot(self, user_id: str) -> AccountSnapshot:
        """Return the account's head and settings together, in one read."""

    @abstractmethod
    def totals(self, user_id: str, up_to_seq: int) -> Mapping[EntryType, int]:
        """Return the sum of entry amounts per type, over the ledger up to ``up_to_seq``.

        Only for accounts whose head predates running totals (``AccountHead.totals`` is None).
        """


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The head as of the last ledger commit, and the user's settings."""

    head: AccountHead
    updated_at: datetime | None
    settings: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Balance:
    user_id: str
    balance: int
    held: int
    available: int
    low_balance_threshold: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Account:
    balance: Balance
    totals: Mapping[EntryType, int]
    settings: Mapping[str, object] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()  # open grants, in consumption order

    @property
    def next_expiry(self) -> datetime | None:
        return next_expiry(self.grants)


def low_balance_threshold(settings: Mapping[str, object]) -> int:
    value = settings.get("low_balance_threshold")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return DEFAULT_LOW_BALANCE_THRESHOLD


def read_balance(
    accounts: AccountStore,
    user_id: str,
    now: datetime | None = None,
    welcome: WelcomeGrant | None = None,
) -> Balance:
    """Return the account's balance and threshold in one read, as of ``now``.

    The balance is the head pointer, which every ledger commit writes atomically with its
    entries, so it is the ledger head's balance (see ``shared.adapters.firestore_ledger``),
    less any grant expired by ``now`` whose expiry entry is not written yet.
    """
    when = now or datetime.now(UTC)
    snap = _snapshot(accounts, user_id, when, welcome)
    return _balance(snap, snap.head.as_of(when))


def read_account(
    accounts: AccountStore,
    user_id: str,
    now: datetime | None = None,
    welcome: WelcomeGrant | None = None,
) -> Account:
    """Return balance, lifetime totals, open grants and settings of the account in one read.

    The head pointer carries the lifetime totals; only an account whose head predates them is
    summed by aggregation.
    """
    when = now or datetime.now(UTC)
    snap = _snapshot(accounts, user_id, when, welcome)
    if snap.head.totals is None:
        snap = replace(
            snap, head=replace(snap.head, totals=accounts.totals(user_id, snap.head.seq))
        )
    head = snap.head.as_of(when)
    return Account(_balance(snap, head), head.totals or {}, snap.settings, head.open_grants())


def _balance(snap: AccountSnapshot, head: AccountHead) -> Balance:
    """The balance as of ``head`` (the snapshot's head with expired grants left out)."""
    threshold = low_balance_threshold(snap.settings)
    return Balance(
        head.user_id, head.balance, head.held, head.available, threshold, snap.updated_at
    )


def update_low_balance_threshold(accounts: AccountStore, user_id: str, threshold: int) -> Account:
    """Set the user's own low-balance threshold (credit units) and return the account."""
    if not 0 <= threshold <= MAX_LOW_BALANCE_THRESHOLD:
        raise invalid_field(
            "low_balance_threshold", f"must be between 0 and {MAX_LOW_BALANCE_THRESHOLD}"
        )
    accounts.merge_settings(user_id, {"low_balance_threshold": threshold})
    return read_account(accounts, user_id)


@dataclass(frozen=True, slots=True)
class WelcomeGrant:
    """Credits every new account gets once, on first use (``WELCOME_GRANT_CREDITS``)."""

    ledger: LedgerStore
    credits: int
    expiry_days: int  # 0: they never expire

    def give(self, user_id: str, now: datetime) -> None:
        """Grant the welcome credits; the effect key is the user, so twice is once."""
        days = self.expiry_days
        expires_at = now + timedelta(days=days) if days else None
        posting = Posting(
            EntryType.GRANT,
            self.credits,
            description="Welcome grant",
            actor="welcome",
            source={"campaign": "welcome"},
            grant=GrantTerms(PROMOTIONAL.category, expires_at=expires_at),
        )
        self.ledger.append(user_id, [posting], effect_key=f"welcome:{user_id}")


def _snapshot(
    accounts: AccountStore, user_id: str, now: datetime, welcome: WelcomeGrant | None
) -> AccountSnapshot:
    """The account as stored; a brand-new account (no entry yet) gets its welcome grant first.

    An account with any entry (say, a purchase made before the welcome grant was configured)
    never gets it: the welcome is for first use.
    """
    snap = accounts.snapshot(user_id)
    if welcome is not None and welcome.credits > 0 and snap.head.seq == 0:
        welcome.give(user_id, now)
        snap = accounts.snapshot(user_id)
    return snap
