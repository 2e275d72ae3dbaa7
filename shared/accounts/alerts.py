"""Low-balance alerts: one per downward crossing of the account's threshold.

The crossing is read from one ledger commit as the account document's ``written`` event shows
it: the head pointer before and after the commit (both in the event, with the user's threshold
in the settings beside them), so deciding needs no read. A commit crosses when the *available*
credits (balance minus held) before it were at or above the threshold and after it are below.
We watch available rather than balance because that is what the user can still spend: a hold
that eats into the last credits warns as early as usage would. Re-arming needs no state either:
after a top-up takes available back to the threshold or above, the next downward commit crosses
again. A batch of entries in one commit is one change: at most one alert.

The alert's id is derived from (user, seq of the commit's last entry), so one crossing is one
alert however often, and in whatever order, the events are delivered. Pushes go to the user's
registered devices through a ``PushSender``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.ledger.entries import entry_id
from shared.money import credits_text

DEFAULT_LOW_BALANCE_THRESHOLD = 50_00  # credit units: ₹50 of credits


class PushStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NO_DEVICES = "no_devices"


@dataclass(frozen=True, slots=True)
class LowBalanceAlert:
    user_id: str
    seq: int
    threshold: int
    available_before: int
    available_after: int
    created_at: datetime

    @property
    def id(self) -> str:
        return entry_id(self.user_id, self.seq)

    @property
    def title(self) -> str:
        return "Low credit balance"

    @property
    def body(self) -> str:
        return (
            f"You have {credits_text(self.available_after)} credits left, below your alert level"
            f" of {credits_text(self.threshold)}. Top up to keep going."
        )


@dataclass(frozen=True, slots=True)
class PushNotification:
    title: str
    body: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PushResult:
    sent: int
    invalid_tokens: tuple[str, ...] = ()


class PushSender(ABC):
    """Port: deliver a notification to device registration tokens (FCM in production)."""

    @abstractmethod
    def send(self, tokens: Sequence[str], notification: PushNotification) -> PushResult: ...


class AlertStore(ABC):
    """Port: alert records and device tokens."""

    @abstractmethod
    def record(self, alert: LowBalanceAlert) -> PushStatus | None:
        """Create the alert; return None if created now, else the existing alert's push status."""

    @abstractmethod
    def mark_pushed(self, alert: LowBalanceAlert, status: PushStatus, sent: int) -> None: ...

    @abstractmethod
    def device_tokens(self, user_id: str) -> list[str]: ...

    @abstractmethod
    def forget_devices(self, user_id: str, tokens: Sequence[str]) -> None: ...


def crosses_down(before: int, after: int, threshold: int) -> bool:
    """True when a change takes a value from at/above ``threshold`` to below it."""
    return before >= threshold > after


@dataclass(frozen=True, slots=True)
class BalanceChange:
    """One write of the account document: the head before and after it, and the threshold."""

    user_id: str
    seq_before: int
    available_before: int
    seq: int
    available_after: int
    threshold: int = DEFAULT_LOW_BALANCE_THRESHOLD

    @property
    def is_ledger_commit(self) -> bool:
        """False for a write that moved no entry (the user's settings, say)."""
        return self.seq > self.seq_before


def raise_low_balance_alert(
    store: AlertStore, sender: PushSender, change: BalanceChange, now: datetime
) -> LowBalanceAlert | None:
    """Record and push the alert if ``change`` crosses the threshold downwards; else None."""
    before, after = change.available_before, change.available_after
    if not change.is_ledger_commit or not crosses_down(before, after, change.threshold):
        return None  # most commits: decided from the event alone, nothing read or written
    alert = LowBalanceAlert(change.user_id, change.seq, change.threshold, before, after, now)
    existing = store.record(alert)
    if existing is None or existing is PushStatus.PENDING:
        # New, or an earlier delivery recorded it but failed before pushing: push now.
        push_alert(store, sender, alert)
    return alert


def push_alert(store: AlertStore, sender: PushSender, alert: LowBalanceAlert) -> None:
    tokens = store.device_tokens(alert.user_id)
    if not tokens:
        store.mark_pushed(alert, PushStatus.NO_DEVICES, 0)
        return
    notification = PushNotification(
        alert.title,
        alert.body,
        {
            "type": "low_balance",
            "alert_id": alert.id,
            "available": str(alert.available_after),
            "threshold": str(alert.threshold),
        },
    )
    result = sender.send(tokens, notification)
    if result.invalid_tokens:
        store.forget_devices(alert.user_id, result.invalid_tokens)
    store.mark_pushed(alert, PushStatus.SENT, result.sent)
