"""Disputes (chargebacks) of a payment, on either provider: their status moves forward only.

Each status a dispute ever reached is kept under its own key (``states``), so racing or late
events merge instead of overwriting; the dispute's status is its highest-ranked state. A late
``dispute.created`` therefore never reopens a dispute already won, lost or closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CLOSED = 90
_RANKS = {
    # Stripe: an inquiry (warning_*) may turn into a chargeback; won, lost, warning_closed end it.
    "warning_needs_response": 10,
    "warning_under_review": 20,
    "needs_response": 30,
    "under_review": 40,
    "won": _CLOSED,
    "lost": _CLOSED,
    "warning_closed": _CLOSED,
    "prevented": _CLOSED,
    # Razorpay: open, under_review, then won, lost or closed.
    "open": 30,
    "closed": _CLOSED,
}


def dispute_rank(status: object) -> int:
    """Position of a provider's dispute status in the forward-only order (unknown: lowest)."""
    return _RANKS.get(str(status), 0)


def current_dispute(states: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The dispute as its highest-ranked recorded state says (ties: the last status by name)."""
    status = max(states, key=lambda s: (dispute_rank(s), s))
    return dict(states[status])


def disputes_view(stored: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stored dispute (``{id: {"states": {status: fields}}}``) as its current state."""
    return {
        dispute_id: current_dispute(entry["states"])
        if isinstance(entry, Mapping) and entry.get("states")
        else dict(entry)
        for dispute_id, entry in stored.items()
    }
