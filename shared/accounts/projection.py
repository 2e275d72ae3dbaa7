"""The balance projection: what client apps read of an account, beside its ledger head.

``user_credits/{uid}`` is the account's head pointer, written in every ledger commit (see
``shared.adapters.firestore_ledger``), so it is never behind the ledger and needs no trigger.
Besides balance, held and available it carries lifetime totals by kind, computed here from the
head entry's sums of amounts by type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.ledger.entries import EntryType


@dataclass(frozen=True, slots=True)
class LifetimeTotals:
    """Lifetime credit units by kind, all non-negative.

    purchased: ``purchase`` entries; bonus: ``bonus``; granted: ``grant`` (admin, promotions);
    used: usage plus captured holds; refunded: credits taken back by refunds, less what refunds
    that failed gave back (``refund_reversal``).
    """

    purchased: int = 0
    bonus: int = 0
    granted: int = 0
    used: int = 0
    refunded: int = 0

    @classmethod
    def from_sums(cls, sums: Mapping[EntryType, int]) -> LifetimeTotals:
        return cls(
            purchased=sums.get(EntryType.PURCHASE, 0),
            bonus=sums.get(EntryType.BONUS, 0),
            granted=sums.get(EntryType.GRANT, 0),
            used=-(sums.get(EntryType.USAGE, 0) + sums.get(EntryType.HOLD_CAPTURE, 0)),
            refunded=-(sums.get(EntryType.REFUND, 0) + sums.get(EntryType.REFUND_REVERSAL, 0)),
        )
