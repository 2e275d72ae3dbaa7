"""Low-balance crossings, decided from the entry and its predecessor alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.accounts.alerts import (
    AlertStore,
    LowBalanceAlert,
    PushNotification,
    PushResult,
    PushSender,
    PushStatus,
    crosses_down,
    raise_low_balance_alert,
)
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryAlerts(AlertStore):
    def __init__(self, heads: dict[int, AccountHead], threshold: int | None = None) -> None:
        self.heads = heads
        self.user_threshold = threshold
        self.alerts: dict[str, PushStatus] = {}
        self.tokens = ["t1", "stale"]
        self.forgotten: list[str] = []

    def threshold(self, user_id: str) -> int | None:
        return self.user_threshold

    def previous_head(self, user_id: str, seq: int) -> AccountHead:
        return self.heads.get(seq - 1, AccountHead(user_id))

    def record(self, alert: LowBalanceAlert) -> PushStatus | None:
        if alert.id in self.alerts:
            return self.alerts[alert.id]
        self.alerts[alert.id] = PushStatus.PENDING
        return None

    def mark_pushed(self, alert: LowBalanceAlert, status: PushStatus, sent: int) -> None:
        self.alerts[alert.id] = status

    def device_tokens(self, user_id: str) -> list[str]:
        return list(self.tokens)

    def forget_devices(self, user_id: str, tokens: Sequence[str]) -> None:
        self.forgotten += tokens


class Recorder(PushSender):
    def __init__(self) -> None:
        self.sent: list[PushNotification] = []

    def send(self, tokens: Sequence[str], notification: PushNotification) -> PushResult:
        self.sent.append(notification)
        return PushResult(1, ("stale",))


def entry(seq: int, amount: int, balance: int, held: int = 0, kind=EntryType.USAGE) -> LedgerEntry:
    return LedgerEntry("u", seq, kind, amount, balance, held, NOW)


def test_crossing_is_from_at_or_above_to_below() -> None:
    assert crosses_down(5_000, 4_999, 5_000)
    assert crosses_down(9_000, 0, 5_000)
    assert not crosses_down(4_999, 4_000, 5_000)  # already below: no second alert
    assert not crosses_down(6_000, 5_000, 5_000)  # at the threshold is not below it


def test_one_alert_per_crossing_however_often_delivered() -> None:
    store = MemoryAlerts({1: AccountHead("u", 1, 6_000)})
    sender = Recorder()
    crossing = entry(2, -2_000, 4_000)
    for _ in range(5):
        assert raise_low_balance_alert(store, sender, crossing, NOW) is not None
    assert list(store.alerts) == ["u_0000000002"]
    assert len(sender.sent) == 1
    assert store.alerts["u_0000000002"] is PushStatus.SENT
    assert store.forgotten == ["stale"]  # FCM said the token is gone


def test_a_recorded_but_unpushed_alert_is_pushed_on_redelivery() -> None:
    store = MemoryAlerts({1: AccountHead("u", 1, 6_000)})
    store.alerts["u_0000000002"] = PushStatus.PENDING
    sender = Recorder()
    raise_low_balance_alert(store, sender, entry(2, -2_000, 4_000), NOW)
    assert len(sender.sent) == 1


def test_the_users_threshold_wins_and_holds_count_against_available() -> None:
    store = MemoryAlerts({1: AccountHead("u", 1, 1_000)}, threshold=500)
    hold = entry(2, 0, 1_000, held=600, kind=EntryType.HOLD)  # available 400
    alert = raise_low_balance_alert(store, Recorder(), hold, NOW)
    assert alert is not None
    assert (alert.threshold, alert.available_before, alert.available_after) == (500, 1_000, 400)


def test_credits_coming_in_never_alert() -> None:
    store = MemoryAlerts({})
    grant = entry(1, 100, 100, kind=EntryType.GRANT)
    assert raise_low_balance_alert(store, Recorder(), grant, NOW) is None


def test_an_expiry_that_crosses_the_threshold_raises_the_alert_like_any_debit() -> None:
    store = MemoryAlerts({1: AccountHead("u", 1, 6_000)})
    expiry = entry(2, -3_000, 3_000, kind=EntryType.EXPIRY)
    alert = raise_low_balance_alert(store, Recorder(), expiry, NOW)
    assert alert is not None
    assert (alert.available_before, alert.available_after) == (6_000, 3_000)
