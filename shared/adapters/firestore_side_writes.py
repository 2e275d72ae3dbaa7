"""Where the side writes of a ledger commit land: the domain names what changes, this the document.

An order change merges into ``credit_orders/{order_id}`` (``firestore_orders.order_fields``, the
same fields its store writes); a placed hold is written whole to ``holds/{hold_id}``, a settled
one merged over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from shared.adapters.firestore_holds import HOLDS, hold_to_document
from shared.adapters.firestore_orders import ORDERS, order_fields
from shared.ledger.store import SideWrite
from shared.purchases.orders import OrderChange
from shared.usage.holds import HoldPlaced, HoldSettled

_ORDER_CHANGES = get_args(OrderChange)


@dataclass(frozen=True, slots=True)
class DocumentWrite:
    """One side write as Firestore takes it: set ``data`` on a document, merged or whole."""

    collection: str
    document_id: str
    data: Mapping[str, object]
    merge: bool = True


def document_write(write: SideWrite) -> DocumentWrite:
    if isinstance(write, _ORDER_CHANGES):
        return DocumentWrite(ORDERS, write.order_id, order_fields(write))
    if isinstance(write, HoldPlaced):
        return DocumentWrite(HOLDS, write.hold.hold_id, hold_to_document(write.hold), merge=False)
    if isinstance(write, HoldSettled):
        return DocumentWrite(HOLDS, write.hold.hold_id, hold_to_document(write.hold))
    raise TypeError(f"no document for the side write {type(write).__name__}")
