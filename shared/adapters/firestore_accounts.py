"""Account settings and lifetime totals on Firestore.

Settings live in the ``settings`` map of ``user_credits/{uid}`` and are written with merge, so
the projection trigger (which merges balance fields into the same document) never loses them.
Lifetime totals ride on the head pointer; the sum aggregations here serve only accounts whose
head was written before entries carried totals.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.accounts.credit_accounts import AccountSnapshot, AccountStore
from shared.adapters.firestore_client import FirestoreStore
from shared.adapters.firestore_ledger import sums_by_type
from shared.adapters.firestore_ledger_codec import HEADS, head_from_pointer
from shared.ledger.entries import AccountHead, EntryType

# The account document: its settings, and beside them the balance projection's fields
# (firestore_projection) that alerts read too (firestore_alerts).
USER_CREDITS = "user_credits"


class FirestoreAccounts(FirestoreStore, AccountStore):
    def settings(self, user_id: str) -> Mapping[str, object]:
        snapshot = self._db.collection(USER_CREDITS).document(user_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        settings = (data or {}).get("settings")
        return dict(settings) if isinstance(settings, dict) else {}

    def snapshot(self, user_id: str) -> AccountSnapshot:
        refs = [self._db.collection(HEADS).document(user_id),
                self._db.collection(USER_CREDITS).document(user_id)]  # fmt: skip
        head, updated_at, settings = AccountHead(user_id), None, {}
        snapshots = list(self._db.get_all(refs, **self._rpc))  # one round trip
        for snapshot in snapshots:
            data = snapshot.to_dict() if snapshot.exists else None
            if not data:
                continue
            if snapshot.reference.parent.id == HEADS:
                head = head_from_pointer(user_id, data)
                updated_at = data.get("updated_at")
            elif isinstance(data.get("settings"), dict):
                settings = dict(data["settings"])
        return AccountSnapshot(head, updated_at, settings)

    def merge_settings(self, user_id: str, settings: Mapping[str, object]) -> None:
        self._db.collection(USER_CREDITS).document(user_id).set(
            {"user_id": user_id, "settings": dict(settings)},
            merge=True,
            **self._rpc,
        )

    def totals(self, user_id: str, up_to_seq: int) -> Mapping[EntryType, int]:
        return sums_by_type(self._db, user_id, up_to_seq, self._rpc)
