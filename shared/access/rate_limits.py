"""Per-user fixed-window rate limits (purchase, verify): 429 with Retry-After when exceeded.

A window holds at most ``limit`` slots; a request takes the next free slot. The store makes
taking a slot race-safe by creating a document whose id is (bucket, slot number): two concurrent
requests cannot both create slot n, so at most ``limit`` requests pass per window, with no
transaction to contend on.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.errors import RateLimited


@dataclass(frozen=True, slots=True)
class RateLimit:
    action: str
    limit: int
    window_seconds: int


class SlotCounter(ABC):
    """Port: counts taken slots per bucket."""

    @abstractmethod
    def take(self, bucket: str, limit: int, expires_at: datetime) -> bool:
        """Take one slot of ``bucket`` if fewer than ``limit`` are taken; return whether taken."""


def enforce_rate_limit(counter: SlotCounter, rule: RateLimit, user_id: str, now: datetime) -> None:
    """Count one request of ``user_id`` against ``rule``, or raise ``RateLimited``."""
    window = rule.window_seconds
    start = math.floor(now.timestamp()) // window * window
    ends = datetime.fromtimestamp(start + window, UTC)
    bucket = f"{rule.action}:{user_id}:{start}"
    if not counter.take(bucket, rule.limit, expires_at=ends + timedelta(seconds=window)):
        retry_after = max(1, math.ceil((ends - now).total_seconds()))
        raise RateLimited(f"too many {rule.action} requests; retry in {retry_after} s", retry_after)
