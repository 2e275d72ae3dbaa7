"""Low-balance alert records and device tokens on Firestore, and the account document's written
event read as a balance change (see ``shared.accounts.alerts``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.accounts.alerts import AlertStore, BalanceChange, LowBalanceAlert, PushStatus
from shared.accounts.credit_accounts import low_balance_threshold
from shared.adapters.firestore_client import FirestoreStore, race_lost
from shared.adapters.firestore_devices import FirestoreDeviceStore

if TYPE_CHECKING:
    from google.cloud import firestore

LOW_BALANCE_ALERTS = "low_balance_alerts"


class FirestoreAlertStore(FirestoreStore, AlertStore):
    def __init__(self, client: firestore.Client, timeout_seconds: float = 10.0) -> None:
        super().__init__(client, timeout_seconds)
        self._devices = FirestoreDeviceStore(client, timeout_seconds)

    def record(self, alert: LowBalanceAlert) -> PushStatus | None:
        ref = self._db.collection(LOW_BALANCE_ALERTS).document(alert.id)
        try:
            ref.create(alert_to_document(alert), **self._rpc)
        except race_lost():
            stored = ref.get(**self._rpc).to_dict() or {}
            return PushStatus(stored.get("push_status", PushStatus.SENT.value))
        return None

    def mark_pushed(self, alert: LowBalanceAlert, status: PushStatus, sent: int) -> None:
        ref = self._db.collection(LOW_BALANCE_ALERTS).document(alert.id)
        ref.set({"push_status": status.value, "push_sent": sent}, merge=True, **self._rpc)

    def device_tokens(self, user_id: str) -> list[str]:
        return self._devices.tokens(user_id)

    def forget_devices(self, user_id: str, tokens: Sequence[str]) -> None:
        self._devices.forget(user_id, tokens)


def alert_to_document(alert: LowBalanceAlert) -> dict[str, object]:
    return {
        "user_id": alert.user_id,
        "seq": alert.seq,
        "transaction_id": alert.id,
        "threshold": alert.threshold,
        "available_before": alert.available_before,
        "available_after": alert.available_after,
        "title": alert.title,
        "body": alert.body,
        "created_at": alert.created_at,
        "push_status": PushStatus.PENDING.value,
    }


def balance_change(
    user_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> BalanceChange:
    """Read a write of ``user_credits/{uid}`` (its document before and after) as a change.

    A document without a head (created by a settings write, or before the account's first
    entry) counts as seq 0 with nothing available.
    """
    settings = new.get("settings")
    return BalanceChange(
        user_id,
        _int(old, "seq"),
        _available(old),
        _int(new, "seq"),
        _available(new),
        low_balance_threshold(settings if isinstance(settings, Mapping) else {}),
    )


def _available(document: Mapping[str, Any] | None) -> int:
    if document is not None and "available" in document:
        return _int(document, "available")
    return _int(document, "balance") - _int(document, "held")


def _int(document: Mapping[str, Any] | None, name: str) -> int:
    value = (document or {}).get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
