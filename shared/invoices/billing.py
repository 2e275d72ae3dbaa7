"""The buyer's billing details on an account, validated, and where they are kept.

Saved details are used for every invoice issued after saving (an invoice is issued when its
order is paid); a document already issued keeps the details it was issued with.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from shared.errors import invalid_field
from shared.invoices.documents import Party
from shared.invoices.gstin import STATES, gstin_problem

COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_NAME = 200
MAX_ADDRESS = 500


@dataclass(frozen=True, slots=True)
class BillingDetails:
    party: Party
    updated_at: datetime


def billing_party(
    name: object, address: object, state: object, country: object, gstin: object
) -> Party:
    """Validate billing details as sent, or raise a 400 naming the first bad field."""
    name = _text(name, "name", MAX_NAME)
    address = _text(address, "address", MAX_ADDRESS)
    country = "IN" if country is None else country
    if not isinstance(country, str) or not COUNTRY.match(country.upper()):
        raise invalid_field("country", "must be a two-letter ISO country code, e.g. IN")
    country = country.upper()
    if state is not None and (not isinstance(state, str) or state not in STATES):
        raise invalid_field("state", "must be a GST state code, e.g. 27 (Maharashtra)")
    if state is not None and country != "IN":
        raise invalid_field("state", "only buyers in India have a GST state")
    if gstin is not None:
        if not isinstance(gstin, str):
            raise invalid_field("gstin", "must be a string")
        gstin = gstin.strip().upper()
        problem = gstin_problem(gstin)
        if problem:
            raise invalid_field("gstin", problem)
        if country != "IN":
            raise invalid_field("gstin", "only buyers in India have a GSTIN")
        if state is not None and gstin[:2] != state:
            raise invalid_field("gstin", f"is registered in state {gstin[:2]}, not {state}")
        state = gstin[:2]  # a registered buyer's state is its GSTIN's
    return Party(name, address, state, country, gstin)


def _text(value: object, field: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid_field(field, "is required")
    if len(value) > longest:
        raise invalid_field(field, f"must be at most {longest} characters")
    return value.strip()


class BillingDetailsStore(ABC):
    """Port: each account's billing details."""

    @abstractmethod
    def get(self, user_id: str) -> BillingDetails | None: ...

    @abstractmethod
    def save(self, user_id: str, details: BillingDetails) -> None: ...
