"""The balance projection's reads and writes on Firestore (see ``shared.accounts.projection``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.accounts.projection import BalanceProjection, ProjectionStore
from shared.adapters.firestore_accounts import USER_CREDITS
from shared.adapters.firestore_client import FirestoreStore, field_filter
from shared.adapters.firestore_ledger import sums_by_type
from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_from_document
from shared.ledger.entries import EntryType, LedgerEntry

if TYPE_CHECKING:
    from google.cloud import firestore


class FirestoreProjectionStore(FirestoreStore, ProjectionStore):
    def head_entry(self, user_id: str) -> LedgerEntry | None:
        query = (
            self._db.collection(TRANSACTIONS)
            .where(filter=field_filter("user_id", "==", user_id))
            .order_by("seq", direction="DESCENDING")
            .limit(1)
        )
        docs = list(query.stream(**self._rpc))
        return entry_from_document(docs[0].to_dict() or {}) if docs else None

    def sums_by_type(self, user_id: str, up_to_seq: int) -> dict[EntryType, int]:
        return sums_by_type(self._db, user_id, up_to_seq, self._rpc)

    def projected_seq(self, user_id: str) -> int:
        snapshot = self._db.collection(USER_CREDITS).document(user_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        return int((data or {}).get("seq") or 0)

    def write_if_newer(self, projection: BalanceProjection) -> bool:
        """Read-compare-write in a transaction: isolated on Firestore, best effort on the emulator.

        The emulator does not isolate it; ``sync_projection``'s check after writing covers that.
        """
        from google.cloud import firestore

        ref = self._db.collection(USER_CREDITS).document(projection.user_id)

        @firestore.transactional
        def write(transaction: firestore.Transaction) -> bool:
            snapshot = ref.get(transaction=transaction)
            stored = snapshot.to_dict() if snapshot.exists else None
            if int((stored or {}).get("seq") or 0) >= projection.seq:
                return False
            transaction.set(ref, projection_to_document(projection), merge=True)
            return True

        written: bool = write(self._db.transaction())
        return written


def projection_to_document(projection: BalanceProjection) -> dict[str, object]:
    """Fields of ``user_credits/{uid}`` the projection owns (``settings`` is not one)."""
    totals = projection.totals
    return {
        "user_id": projection.user_id,
        "seq": projection.seq,
        "balance": projection.balance,
        "held": projection.held,
        "available": projection.available,
        "total_purchased": totals.purchased,
        "total_bonus": totals.bonus,
        "total_granted": totals.granted,
        "total_used": totals.used,
        "total_refunded": totals.refunded,
        "updated_at": projection.updated_at,
    }
