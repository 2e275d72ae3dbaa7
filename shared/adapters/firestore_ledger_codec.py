"""How ledger records are stored: collection names and the document of each record.

One codec for every reader of the ledger's documents (the store, the accounts, the alerts, the
audit): an entry, a head pointer, a grant, an id claim, as Firestore keeps them.

The head pointer is the account's document ``user_credits/{uid}``: every ledger commit writes the
head's fields there (``HEAD_FIELDS``, by field mask, so the user's ``settings`` beside them are
never touched), and client apps listen to the same document for their balance. Accounts last
written before that kept their pointer in ``ledger_heads/{uid}`` (``LEGACY_HEADS``); the next
commit of such an account moves it (see ``shared.adapters.firestore_ledger``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.accounts.projection import LifetimeTotals
from shared.ledger.effects import IdClaim
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry, Totals
from shared.ledger.grants import Draw, Grant, GrantTerms, next_expiry

TRANSACTIONS = "credit_transactions"
EFFECTS = "ledger_effects"
CLAIMS = "id_claims"
# The account document: the head pointer (what clients read) and the user's settings.
USER_CREDITS = "user_credits"
LEGACY_HEADS = "ledger_heads"  # head pointers written before they moved into USER_CREDITS


def entry_to_document(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "user_id": entry.user_id,
        "seq": entry.seq,
        "type": entry.type.value,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "held_after": entry.held_after,
        "created_at": entry.created_at,
        "effect_key": entry.effect_key,
        "description": entry.description,
        "service": entry.service,
        "actor": entry.actor,
        "source": dict(entry.source),
        "totals_after": totals_to_document(entry.totals_after),
        "draws": draws_to_document(entry.draws),
        "grants_after": grants_to_document(entry.grants_after),
        "debt_paid_by": draws_to_document(entry.debt_paid_by_after),
    }


def grants_to_document(grants: Sequence[Grant] | None) -> list[dict[str, Any]] | None:
    if grants is None:
        return None
    return [
        {
            "id": g.id,
            "category": g.terms.category.value,
            "priority": g.terms.priority,
            "expires_at": g.expires_at,
            "remaining": g.remaining,
            "opened_at": g.opened_at,
        }
        for g in grants
    ]


def grants_from_document(data: Sequence[Mapping[str, Any]] | None) -> tuple[Grant, ...] | None:
    """Decode stored grants; ``None`` (absent) marks data written before grants existed."""
    if data is None:
        return None
    return tuple(
        Grant(GrantTerms.from_id(g["id"]), int(g["remaining"]), g["opened_at"]) for g in data
    )


def draws_to_document(draws: Sequence[Draw]) -> list[dict[str, Any]]:
    return [{"grant": grant_id, "credits": n} for grant_id, n in draws]


def draws_from_document(data: Sequence[Mapping[str, Any]] | None) -> tuple[Draw, ...]:
    return tuple((d["grant"], int(d["credits"])) for d in data or ())


def totals_to_document(totals: Totals | None) -> dict[str, int] | None:
    return None if totals is None else {t.value: n for t, n in totals.items()}


def totals_from_document(data: Mapping[str, Any] | None) -> dict[EntryType, int] | None:
    """Decode stored totals; ``None`` (absent) marks data written before totals existed."""
    return None if data is None else {EntryType(t): int(n) for t, n in data.items()}


def claim_to_document(claim: IdClaim) -> dict[str, Any]:
    return {
        "key": claim.key,
        "account": claim.account,
        "amount": claim.amount,
        "caller": claim.caller,
        "terms": claim.terms,
    }


def claim_from_document(data: Mapping[str, Any]) -> IdClaim:
    return IdClaim(
        data["key"], data["account"], int(data["amount"]), data["caller"], data.get("terms", "")
    )


def head_to_document(last: LedgerEntry) -> dict[str, Any]:
    """The head pointer's fields after ``last``, the newest entry of a commit."""
    totals = LifetimeTotals.from_sums(last.totals_after or {})
    return {
        "ledger_head": True,  # marks a head pointer (a settings-only document is not one)
        "user_id": last.user_id,
        "seq": last.seq,
        "balance": last.balance_after,
        "held": last.held_after,
        "available": last.balance_after - last.held_after,
        # Lifetime totals: by entry type for the account view, by kind for client apps.
        "totals": totals_to_document(last.totals_after),
        "total_purchased": totals.purchased,
        "total_bonus": totals.bonus,
        "total_granted": totals.granted,
        "total_used": totals.used,
        "total_refunded": totals.refunded,
        "grants": grants_to_document(last.grants_after),
        # Which grants paid debts: a failed refund's give-back returns their credits to them.
        "debt_paid_by": draws_to_document(last.debt_paid_by_after),
        # The expiry job finds accounts by this (``FirestoreLedger.accounts_due_to_expire``).
        "next_expiry": next_expiry(last.grants_after or ()),
        "updated_at": last.created_at,
    }


# Written by field mask: each replaced whole, and ``settings`` left as the user set it.
HEAD_FIELDS = (
    "ledger_head", "user_id", "seq", "balance", "held", "available", "totals", "total_purchased",
    "total_bonus", "total_granted", "total_used", "total_refunded", "grants", "debt_paid_by",
    "next_expiry", "updated_at",
)  # fmt: skip


def is_head_pointer(data: Mapping[str, Any] | None) -> bool:
    """True for an account document that a ledger commit wrote (not settings alone)."""
    return data is not None and data.get("ledger_head") is True


def head_from_pointer(user_id: str, data: Mapping[str, Any]) -> AccountHead:
    """Decode a head pointer (``user_credits/{uid}``, or a legacy ``ledger_heads/{uid}``)."""
    totals = totals_from_document(data.get("totals"))
    grants = grants_from_document(data.get("grants"))
    paid_by = draws_from_document(data.get("debt_paid_by"))
    return AccountHead(user_id, data["seq"], data["balance"], data["held"], totals, grants, paid_by)


def entry_from_document(data: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        user_id=data["user_id"],
        seq=int(data["seq"]),
        type=EntryType(data["type"]),
        amount=int(data["amount"]),
        balance_after=int(data["balance_after"]),
        held_after=int(data.get("held_after", 0)),
        created_at=data["created_at"],
        effect_key=data.get("effect_key"),
        description=data.get("description") or "",
        service=data.get("service"),
        actor=data.get("actor"),
        source=dict(data.get("source") or {}),
        totals_after=totals_from_document(data.get("totals_after")),
        draws=draws_from_document(data.get("draws")),
        grants_after=grants_from_document(data.get("grants_after")),
        debt_paid_by_after=draws_from_document(data.get("debt_paid_by")),
    )
