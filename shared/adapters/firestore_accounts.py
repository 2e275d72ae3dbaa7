"""Account settings, balance and lifetime totals on Firestore.

``user_credits/{uid}`` is the account document: the ledger's head pointer (balance, held,
lifetime totals, grants: written in every ledger commit, see ``firestore_ledger``) and the user's
``settings`` map, written with merge so that neither clobbers the other. One get reads both.
The sum aggregations here serve only accounts whose head was written before entries carried
totals.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.accounts.credit_accounts import AccountSnapshot, AccountStore
from shared.adapters.firestore_client import FirestoreStore
from shared.adapters.firestore_ledger import sums_by_type
from shared.adapters.firestore_ledger_codec import (
    LEGACY_HEADS,
    USER_CREDITS,
    head_from_pointer,
    is_head_pointer,
)
from shared.ledger.entries import AccountHead, EntryType

__all__ = ["USER_CREDITS", "FirestoreAccounts"]


class FirestoreAccounts(FirestoreStore, AccountStore):
    def settings(self, user_id: str) -> Mapping[str, object]:
        snapshot = self._db.collection(USER_CREDITS).document(user_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        settings = (data or {}).get("settings")
        return dict(settings) if isinstance(settings, dict) else {}

    def snapshot(self, user_id: str) -> AccountSnapshot:
        snapshot = self._db.collection(USER_CREDITS).document(user_id).get(**self._rpc)
        data = (snapshot.to_dict() if snapshot.exists else None) or {}
        settings = dict(data["settings"]) if isinstance(data.get("settings"), dict) else {}
        if is_head_pointer(data):
            head = head_from_pointer(user_id, data)
            return AccountSnapshot(head, data.get("updated_at"), settings)
        # No ledger commit since pointers moved here (a new account, or one holding settings or
        # the old projection only): a pointer is still in ledger_heads until its next write.
        legacy = self._db.collection(LEGACY_HEADS).document(user_id).get(**self._rpc)
        pointer = legacy.to_dict() if legacy.exists else None
        if not pointer:
            return AccountSnapshot(AccountHead(user_id), None, settings)
        return AccountSnapshot(
            head_from_pointer(user_id, pointer), pointer.get("updated_at"), settings
        )

    def merge_settings(self, user_id: str, settings: Mapping[str, object]) -> None:
        self._db.collection(USER_CREDITS).document(user_id).set(
            {"user_id": user_id, "settings": dict(settings)},
            merge=True,
            **self._rpc,
        )

    def totals(self, user_id: str, up_to_seq: int) -> Mapping[EntryType, int]:
        return sums_by_type(self._db, user_id, up_to_seq, self._rpc)
