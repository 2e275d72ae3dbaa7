"""Wire shapes of credit grants: an account's open grants and what a ledger entry moved.

Answered by the account view and the transaction history; apart from ``functions/wire.py`` so
that neither handler loads the order domain on a cold start.
"""

from __future__ import annotations

from datetime import datetime

from typing_extensions import TypedDict

from shared.ledger.grants import Draw, Grant, GrantCategory, GrantTerms


class GrantTermsJson(TypedDict):
    grant_id: str
    category: GrantCategory
    priority: int
    expires_at: datetime | None


class OpenGrantJson(GrantTermsJson):
    remaining: int


class DrawJson(GrantTermsJson):
    """Credits one entry moved in one grant: positive added to it, negative taken from it."""

    credits: int


def _terms(terms: GrantTerms) -> GrantTermsJson:
    return {
        "grant_id": terms.id,
        "category": terms.category,
        "priority": terms.priority,
        "expires_at": terms.expires_at,
    }


def open_grant_json(grant: Grant) -> OpenGrantJson:
    return {**_terms(grant.terms), "remaining": grant.remaining}


def draw_json(draw: Draw) -> DrawJson:
    grant_id, credits = draw
    return {**_terms(GrantTerms.from_id(grant_id)), "credits": credits}
