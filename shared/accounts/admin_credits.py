"""Credits granted or adjusted by an admin: every entry names the admin and the reason."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import IdempotencyKeyReused, invalid_field
from shared.ledger.effects import IdClaim, IdClaimed
from shared.ledger.entries import EntryType, LedgerEntry, Posting, require_user_id
from shared.ledger.grants import GrantTerms
from shared.ledger.store import LedgerStore

MAX_ADMIN_AMOUNT = 100_000_000  # credit units (₹10,00,000): a typo guard, not a policy
MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class AdminChange:
    entry: LedgerEntry
    replayed: bool


def change_credits(
    ledger: LedgerStore,
    admin_uid: str,
    user_id: str,
    *,
    amount: int,
    reason: str,
    adjust: bool,
    request_key: str | None = None,
    grant: GrantTerms | None = None,
    now: datetime | None = None,
) -> AdminChange:
    """Grant (amount > 0) or adjust (signed, non-zero) a user's credits on an admin's word.

    A negative adjustment cannot take the balance below what is available (402): it corrects
    mistakes, it does not create debt. ``request_key`` (the Idempotency-Key) makes it once-only:
    the key is claimed for this endpoint, user and body, and any other use of it is a 422.
    ``grant`` gives the terms of credits coming in (promotional, priority 50, never expiring by
    default); an expiry must be in the future.
    """
    require_user_id(user_id)
    if adjust and amount == 0:
        raise invalid_field("amount", "must not be zero")
    if not adjust and amount <= 0:
        raise invalid_field("amount", "must be positive")
    if abs(amount) > MAX_ADMIN_AMOUNT:
        raise invalid_field("amount", f"must be at most {MAX_ADMIN_AMOUNT} in absolute value")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise invalid_field("reason", f"must be 1-{MAX_REASON_LENGTH} characters")
    if grant is not None:
        if amount < 0:
            raise invalid_field("category", "grant terms apply to credits coming in only")
        expires_at = grant.expires_at
        if expires_at is not None and expires_at <= (now or datetime.now(UTC)):
            raise invalid_field("expires_at", "must be in the future")
    entry_type = EntryType.ADJUSTMENT if adjust else EntryType.GRANT
    posting = Posting(
        entry_type,
        amount,
        description=reason,
        actor=admin_uid,
        source={"admin": admin_uid, "reason": reason},
        grant=grant,
    )
    kind = entry_type.value
    # Without a key the change still gets one of its own, before its first attempt: a commit
    # the Firestore client retries after an internal error then replays instead of applying twice.
    once = request_key or f"auto-{uuid.uuid4().hex}"
    claim = None
    if request_key:
        said = f"{reason}\n{grant.id if grant else ''}"
        terms = f"{kind}:{hashlib.sha256(said.encode()).hexdigest()}"
        claim = IdClaim(f"admin:{admin_uid}:{request_key}", user_id, amount, admin_uid, terms)
    if request_key and (earlier := legacy_replay(ledger, posting, admin_uid, user_id, request_key)):
        return AdminChange(earlier[-1], replayed=True)
    try:
        result = ledger.append(
            user_id,
            [posting],
            effect_key=admin_effect_key(kind, admin_uid, user_id, once),
            claim=claim,
        )
    except IdClaimed as claimed:
        raise IdempotencyKeyReused(
            "Idempotency-Key was already used for another endpoint, user or body"
        ) from claimed
    return AdminChange(result.entries[-1], result.replayed)


def admin_effect_key(kind: str, admin_uid: str, user_id: str, once: str) -> str:
    """Return the effect key of an admin change: its parts length-prefixed, so none can collide.

    User ids and Idempotency-Keys may both contain ``:``; a plain join made ("org", "acme:k")
    and ("org:acme", "k") one key.
    """
    parts = "".join(f"{len(part)}:{part}" for part in (admin_uid, user_id, once))
    return f"admin2:{kind}:{parts}"


def legacy_replay(
    ledger: LedgerStore, posting: Posting, admin_uid: str, user_id: str, request_key: str
) -> list[LedgerEntry] | None:
    """Return the entries of this request applied under the old, ':'-joined key, if any.

    Only code from before ``admin_effect_key`` wrote such keys, so the set of them no longer
    grows and this look-up cannot race a writer. An entry of another account, amount or reason
    under the same key is not this request's: the append that follows then meets the key's
    claim (whose key is unchanged) and answers as before.
    """
    kind = posting.type.value
    entries = ledger.effect(f"admin:{kind}:{admin_uid}:{user_id}:{request_key}")
    if not entries:
        return None
    last = entries[-1]
    same = (last.user_id, last.amount, last.description) == (
        user_id,
        posting.amount,
        posting.description,
    )
    return entries if same else None
