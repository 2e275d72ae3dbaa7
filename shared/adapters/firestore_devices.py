"""Device registration tokens on Firestore: ``user_devices/{uid}/tokens/{sha256(token)}``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.accounts.devices import Device, DeviceStore
from shared.adapters.firestore_client import FirestoreStore

if TYPE_CHECKING:
    from google.cloud import firestore

USER_DEVICES = "user_devices"
TOKENS = "tokens"


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FirestoreDeviceStore(FirestoreStore, DeviceStore):
    def _tokens(self, user_id: str) -> firestore.CollectionReference:
        tokens: firestore.CollectionReference = (
            self._db.collection(USER_DEVICES).document(user_id).collection(TOKENS)
        )
        return tokens

    def register(self, device: Device, keep: int) -> None:
        tokens = self._tokens(device.user_id)
        tokens.document(token_id(device.token)).set(
            {
                "token": device.token,
                "platform": device.platform.value,
                "registered_at": device.registered_at,
            },
            **self._rpc,
        )
        # At most keep + 1 tokens exist before this, so the read below stays small.
        docs = sorted(
            tokens.stream(**self._rpc),
            key=lambda d: (d.to_dict() or {}).get("registered_at") or device.registered_at,
            reverse=True,
        )
        if len(docs) > keep:
            batch = self._db.batch()
            for stale in docs[keep:]:
                batch.delete(stale.reference)
            batch.commit(**self._rpc)

    def tokens(self, user_id: str) -> list[str]:
        docs = self._tokens(user_id).stream(**self._rpc)
        return sorted(str((d.to_dict() or {}).get("token")) for d in docs)

    def forget(self, user_id: str, tokens: Sequence[str]) -> None:
        # One commit for every token, instead of a DeleteDocument round trip each.
        batch = self._db.batch()
        for token in tokens:
            batch.delete(self._tokens(user_id).document(token_id(token)))
        batch.commit(**self._rpc)
