"""The expiry job: write off grants that expired, a page of accounts at a time."""

from __future__ import annotations

from datetime import datetime

from shared.errors import BillingError
from shared.ledger.store import LedgerStore


def expire_due_grants(
    ledger: LedgerStore, now: datetime, limit: int = 100, max_pages: int = 10
) -> int:
    """Write the expiry entries of accounts holding grants expired by ``now``; return how many.

    Reads never count an expired credit anyway (``AccountHead.as_of``); the entry brings the
    balance projection, the lifetime totals and the low-balance alert up to date. Pages of
    ``limit`` accounts, up to ``max_pages`` a run, so a campaign expiring for many accounts at
    once is written off in one run, not one page every five minutes.
    """
    written = 0
    failed: set[str] = set()
    for _ in range(max_pages):
        due = [
            u for u in ledger.accounts_due_to_expire(now, limit + len(failed)) if u not in failed
        ]
        for user_id in due[:limit]:
            try:
                ledger.expire_grants(user_id)
            except BillingError:
                failed.add(user_id)  # busy or unreachable: the next run tries it again
                continue
            written += 1
        if len(due) < limit:
            break
    return written
