"""Low-balance crossings, decided from one write of the account document alone (no read)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.accounts.alerts import (
    AlertStore,
    BalanceChange,
    LowBalanceAlert,
    PushNotification,
    PushResult,
    PushSender,
    PushStatus,
    crosses_down,
    raise_low_balance_alert,
)
from shared.adapters.firestore_alerts import balance_change

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryAlerts(AlertStore):
    def __init__(self) -> None:
        self.alerts: dict[str, PushStatus] = {}
        self.tokens = ["t1", "stale"]
        self.forgotten: list[str] = []

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


def change(before: int, after: int, seq: int = 2, threshold: int = 5_000) -> BalanceChange:
    return BalanceChange("u", seq - 1, before, seq, after, threshold)


def test_crossing_is_from_at_or_above_to_below() -> None:
    assert crosses_down(5_000, 4_999, 5_000)
    assert crosses_down(9_000, 0, 5_000)
    assert not crosses_down(4_999, 4_000, 5_000)  # already below: no second alert
    assert not crosses_down(6_000, 5_000, 5_000)  # at the threshold is not below it


def test_one_alert_per_crossing_however_often_delivered() -> None:
    store, sender = MemoryAlerts(), Recorder()
    for _ in range(5):
        assert raise_low_balance_alert(store, sender, change(6_000, 4_000), NOW) is not None
    assert list(store.alerts) == ["u_0000000002"]
    assert len(sender.sent) == 1
    assert store.alerts["u_0000000002"] is PushStatus.SENT
    assert store.forgotten == ["stale"]  # FCM said the token is gone


def test_a_recorded_but_unpushed_alert_is_pushed_on_redelivery() -> None:
    store = MemoryAlerts()
    store.alerts["u_0000000002"] = PushStatus.PENDING
    sender = Recorder()
    raise_low_balance_alert(store, sender, change(6_000, 4_000), NOW)
    assert len(sender.sent) == 1


def test_a_commit_that_does_not_cross_touches_no_store() -> None:
    class NoStore(MemoryAlerts):
        def record(self, alert: LowBalanceAlert) -> PushStatus | None:
            raise AssertionError("a commit that crosses nothing must not read or write")

    for before, after in [(4_000, 3_000), (6_000, 5_000), (100, 9_000)]:
        assert raise_low_balance_alert(NoStore(), Recorder(), change(before, after), NOW) is None


def test_a_settings_write_is_no_ledger_commit_and_never_alerts() -> None:
    # The user raises their threshold above what is available: no entry moved, no crossing.
    raised = BalanceChange("u", 7, 4_000, 7, 4_000, threshold=10_000)
    assert raise_low_balance_alert(MemoryAlerts(), Recorder(), raised, NOW) is None


def test_the_event_documents_give_available_and_the_users_threshold() -> None:
    old = {"seq": 1, "balance": 1_000, "held": 0, "available": 1_000, "settings": {}}
    new = {"seq": 2, "balance": 1_000, "held": 600, "available": 400,
           "settings": {"low_balance_threshold": 500}}  # fmt: skip
    hold = balance_change("u", old, new)  # a hold eats into available
    assert hold == BalanceChange("u", 1, 1_000, 2, 400, 500)
    alert = raise_low_balance_alert(MemoryAlerts(), Recorder(), hold, NOW)
    assert alert is not None
    assert (alert.threshold, alert.available_before, alert.available_after) == (500, 1_000, 400)


def test_a_document_created_by_its_first_commit_or_by_settings_counts_from_nothing() -> None:
    first = balance_change("u", None, {"seq": 1, "balance": 100, "held": 0, "available": 100})
    assert (first.seq_before, first.available_before, first.threshold) == (0, 0, 5_000)
    settings_only = {"settings": {"low_balance_threshold": 50}}
    assert balance_change("u", settings_only, {**settings_only, "seq": 1}).seq_before == 0


def test_credits_coming_in_never_alert() -> None:
    assert raise_low_balance_alert(MemoryAlerts(), Recorder(), change(0, 100, seq=1), NOW) is None


def test_a_batch_commit_that_crosses_twice_over_raises_one_alert_at_its_last_entry() -> None:
    alert = raise_low_balance_alert(MemoryAlerts(), Recorder(), change(9_000, 0, seq=101), NOW)
    assert alert is not None
    assert alert.id == "u_0000000101"
