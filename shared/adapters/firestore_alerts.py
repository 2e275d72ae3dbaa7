"""Low-balance alert records, thresholds and device tokens on Firestore
(see ``shared.accounts.alerts``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.accounts.alerts import AlertStore, LowBalanceAlert, PushStatus
from shared.adapters.firestore_accounts import USER_CREDITS
from shared.adapters.firestore_client import FirestoreStore, race_lost
from shared.adapters.firestore_devices import FirestoreDeviceStore
from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_from_document
from shared.ledger.entries import AccountHead, entry_id

if TYPE_CHECKING:
    from google.cloud import firestore

LOW_BALANCE_ALERTS = "low_balance_alerts"


class FirestoreAlertStore(FirestoreStore, AlertStore):
    def __init__(self, client: firestore.Client, timeout_seconds: float = 10.0) -> None:
        super().__init__(client, timeout_seconds)
        self._devices = FirestoreDeviceStore(client, timeout_seconds)

    def threshold(self, user_id: str) -> int | None:
        snapshot = self._db.collection(USER_CREDITS).document(user_id).get(**self._rpc)
        settings = ((snapshot.to_dict() if snapshot.exists else None) or {}).get("settings") or {}
        value = settings.get("low_balance_threshold")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def previous_head(self, user_id: str, seq: int) -> AccountHead:
        if seq <= 1:
            return AccountHead(user_id)
        ref = self._db.collection(TRANSACTIONS).document(entry_id(user_id, seq - 1))
        snapshot = ref.get(**self._rpc)
        if not snapshot.exists:
            raise LookupError(f"ledger entry {ref.id} is missing: seq must be contiguous")
        return entry_from_document(snapshot.to_dict() or {}).head

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
