"""Credit accounts as clients see them: balance, held, available, threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.ledger import AccountHead, LedgerStore
from shared.pricing import DEFAULT_LOW_BALANCE_THRESHOLD


@dataclass(frozen=True, slots=True)
class Balance:
    user_id: str
    balance: int
    held: int
    available: int
    low_balance_threshold: int
    updated_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "balance": self.balance,
            "held": self.held,
            "available": self.available,
            "low_balance_threshold": self.low_balance_threshold,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def read_balance(ledger: LedgerStore, user_id: str) -> Balance:
    """Return the account's authoritative balance (from its ledger head)."""
    page = ledger.history(user_id, limit=1)
    head = page.entries[0].head if page.entries else AccountHead(user_id)
    updated_at = page.entries[0].created_at if page.entries else None
    return Balance(
        user_id, head.balance, head.held, head.available, DEFAULT_LOW_BALANCE_THRESHOLD, updated_at
    )
