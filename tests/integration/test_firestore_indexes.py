"""``firestore.indexes.json`` holds a composite index for every query the adapters build.

The queries are recorded, not read from the source: every structured query the Firestore client
serialises while the adapters run their reads against the emulator is captured, and each one that
production Firestore would refuse without a composite index (equality filters plus an order or a
range on another field, or several orders) must have an index of the same fields and directions.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.ledger.entries import EntryType, Posting

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
EQUALITY = {"EQUAL", "IN", "ARRAY_CONTAINS", "ARRAY_CONTAINS_ANY"}

Need = tuple[str, frozenset[str], tuple[tuple[str, str], ...]]  # collection, equalities, orders


def needs(collection: str, query: Any) -> Need | None:
    """The composite index a StructuredQuery needs, or None when single-field indexes serve."""
    filters = []
    pending = [query.where] if "where" in query else []
    while pending:
        f = pending.pop()
        if "composite_filter" in f:
            pending += list(f.composite_filter.filters)
        elif "field_filter" in f:
            filters.append((f.field_filter.field.field_path, f.field_filter.op.name))
    equal = frozenset(name for name, op in filters if op in EQUALITY)
    ranges = [name for name, op in filters if op not in EQUALITY]
    orders = tuple(
        (o.field.field_path, o.direction.name)
        for o in query.order_by
        if o.field.field_path != "__name__"
    )
    if ranges and not orders:
        orders = ((ranges[0], "ASCENDING"),)  # Firestore orders by the inequality field
    if not orders or (not equal and len(orders) == 1):
        return None
    return collection, equal, orders


def declared() -> list[tuple[str, list[tuple[str, str]]]]:
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    found = []
    for index in indexes:
        fields = [(f["fieldPath"], f["order"]) for f in index["fields"]]
        found.append((index["collectionGroup"], fields))
    return found


def served(need: Need) -> bool:
    collection, equal, orders = need
    for group, fields in declared():
        head, tail = fields[: len(equal)], fields[len(equal) :]
        if group == collection and {name for name, _ in head} == equal and tuple(tail) == orders:
            return True
    return False


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Need]:
    from google.cloud.firestore_v1 import base_query

    original = base_query.BaseQuery._to_protobuf
    seen: list[Need] = []

    def recording(self: Any) -> Any:
        query = original(self)
        need = needs(query.from_[0].collection_id, query)
        if need is not None and need not in seen:
            seen.append(need)
        return query

    monkeypatch.setattr(base_query.BaseQuery, "_to_protobuf", recording)
    return seen


def test_every_composite_query_has_its_index(firestore_client: Any, recorded: list[Need]) -> None:
    from shared.accounts.history import GroupBy, usage_summary
    from shared.adapters.firestore_accounts import FirestoreAccounts
    from shared.adapters.firestore_holds import FirestoreHoldStore
    from shared.adapters.firestore_invoices import FirestoreTaxDocuments
    from shared.adapters.firestore_ledger import FirestoreLedger
    from shared.adapters.firestore_orders import FirestoreOrders
    from shared.adapters.firestore_payments import FirestorePayments
    from shared.adapters.firestore_reconciliation import FirestoreReconcileQueue
    from shared.purchases.reconciliation import ORDER, PAYMENT

    uid = f"idx-{uuid.uuid4().hex[:10]}"
    ledger = FirestoreLedger(firestore_client)
    ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    ledger.append(uid, [Posting(EntryType.USAGE, -10, service="ai", actor="test")])
    now = datetime.now(UTC)
    ledger.head(uid)
    ledger.entries(uid)
    ledger.history(uid, 10)
    ledger.history(uid, 10, "2", EntryType.USAGE, since=now - timedelta(days=1), until=now)
    for group_by in GroupBy:
        usage_summary(ledger, uid, group_by, now - timedelta(days=1), now + timedelta(days=1))
    FirestoreAccounts(firestore_client).totals(uid, 2)
    ledger.sums_by_type(uid, 2)
    ledger.accounts_due_to_expire(now, 10)
    orders = FirestoreOrders(firestore_client)
    orders.list_for_user(uid, 10, None)
    orders.list_for_user(uid, 10, now.isoformat())
    orders.by_provider_order("razorpay", "order_none")
    FirestoreHoldStore(firestore_client).due(now, 10)
    invoices = FirestoreTaxDocuments(firestore_client)
    invoices.list_for_user(uid, 10, None)
    invoices.list_for_user(uid, 10, f"{now.isoformat()}|INV/2026-27/000001")
    invoices._last_seq("INV", "2026-27")
    FirestorePayments(firestore_client).reservations("pi_none")
    queue = FirestoreReconcileQueue(firestore_client)
    for kind in (ORDER, PAYMENT):
        queue.due(kind, now, 10)

    missing = [need for need in recorded if not served(need)]
    print("\ncomposite queries recorded:")
    for need in recorded:
        collection, equal, order = need
        print(f"  {collection}: equal {sorted(equal)}, order {list(order)}: {served(need)}")
    assert recorded, "no composite query recorded: the hook is not working"
    assert not missing, f"no index in firestore.indexes.json for {missing}"
