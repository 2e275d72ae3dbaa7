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
