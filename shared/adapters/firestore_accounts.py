"""Account settings and lifetime totals on Firestore.

Settings live in the ``settings`` map of ``user_credits/{uid}`` and are written with merge, so
the projection trigger (which merges balance fields into the same document) never loses them.
Totals are sum aggregations over the ledger, so they are right even before any projection runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.accounts import ACCOUNTS, AccountSnapshot, AccountStore
from shared.adapters.firestore_client import rpc_options
from shared.adapters.firestore_ledger import HEADS, TRANSACTIONS, _eq, _unavailable_on_outage
from shared.ledger import AccountHead, EntryType

if TYPE_CHECKING:
    from google.cloud import firestore


# Holds net to zero over their life; the lifetime totals need only these types.
TOTALLED_TYPES = (
    EntryType.PURCHASE,
    EntryType.BONUS,
    EntryType.GRANT,
    EntryType.USAGE,
    EntryType.HOLD_CAPTURE,
    EntryType.REFUND,
    EntryType.ADJUSTMENT,
)


class FirestoreAccounts(AccountStore):
    def __init__(self, client: firestore.Client, timeout_seconds: float = 10.0) -> None:
        self._db = client
        self._rpc = rpc_options(timeout_seconds)

    def settings(self, user_id: str) -> Mapping[str, object]:
        with _unavailable_on_outage():
            snapshot = self._db.collection(ACCOUNTS).document(user_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        settings = (data or {}).get("settings")
        return dict(settings) if isinstance(settings, dict) else {}

    def snapshot(self, user_id: str) -> AccountSnapshot:
        refs = [self._db.collection(HEADS).document(user_id),
                self._db.collection(ACCOUNTS).document(user_id)]  # fmt: skip
        head, updated_at, settings = AccountHead(user_id), None, {}
        with _unavailable_on_outage():
            snapshots = list(self._db.get_all(refs, **self._rpc))  # one round trip
        for snapshot in snapshots:
            data = snapshot.to_dict() if snapshot.exists else None
            if not data:
                continue
            if snapshot.reference.parent.id == HEADS:
                head = AccountHead(user_id, data["seq"], data["balance"], data["held"])
                updated_at = data.get("updated_at")
            elif isinstance(data.get("settings"), dict):
                settings = dict(data["settings"])
        return AccountSnapshot(head, updated_at, settings)

    def merge_settings(self, user_id: str, settings: Mapping[str, object]) -> None:
        with _unavailable_on_outage():
            self._db.collection(ACCOUNTS).document(user_id).set(
                {"user_id": user_id, "settings": dict(settings)},
                merge=True,
                **self._rpc,
            )

    def totals(self, user_id: str) -> Mapping[EntryType, int]:
        totals: dict[EntryType, int] = {}
        for entry_type in TOTALLED_TYPES:
            query = (
                self._db.collection(TRANSACTIONS)
                .where(filter=_eq("user_id", user_id))
                .where(filter=_eq("type", entry_type.value))
            )
            aggregate: Any = query.sum("amount", alias="total")  # the SDK's stubs are wrong here
            with _unavailable_on_outage():
                result = aggregate.get(**self._rpc)
            totals[entry_type] = int(result[0][0].value or 0) if result and result[0] else 0
        return totals
