"""Tests and benchmarks hand ready-made parts to Services explicitly, not through __dict__."""

from __future__ import annotations

from typing import Any, cast

import pytest

from shared.bootstrap import ServiceParts, Services
from shared.config import Settings
from tests.unit.fakes import MemoryLedger


def test_a_supplied_part_is_used_and_the_others_are_still_built_lazily() -> None:
    ledger = MemoryLedger()
    services = Services(Settings(), overrides=ServiceParts(ledger=ledger))
    assert services.ledger is ledger
    assert "firestore" not in vars(services)  # nothing else was built


def test_a_part_services_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="ledgr"):
        Services(Settings(), overrides=cast(Any, {"ledgr": MemoryLedger()}))


def test_one_supplied_clock_reaches_every_use_case_that_reads_the_time() -> None:
    from datetime import UTC, datetime

    frozen = datetime(2026, 4, 1, 12, tzinfo=UTC)

    def clock() -> datetime:
        return frozen

    from tests.unit.fakes.invoices import MemoryBilling, MemoryDocuments
    from tests.unit.fakes.stores import MemoryOrders, MemoryPackages, MemorySlots

    parts = ServiceParts(
        ledger=MemoryLedger(),
        orders=MemoryOrders(),
        packages=MemoryPackages(),
        rate_limit_slots=MemorySlots(),
        clock=clock,
        invoices=MemoryDocuments(),
        billing_details=MemoryBilling(),
    )
    services = Services(Settings(), overrides=parts)
    assert services.clock() == frozen
    assert services.purchase_rules.clock is clock
    assert services.invoice_issuer.clock is clock
