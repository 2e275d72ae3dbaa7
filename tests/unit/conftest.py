"""The one in-process HTTP edge the unit tests share (tests/unit/edge.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared import bootstrap
from tests.unit.edge import Edge


@pytest.fixture
def edge() -> Iterator[Edge]:
    """Every endpoint through its real ``@endpoint`` wrapper, wired by ``Services`` on fakes."""
    wired = Edge()
    bootstrap.override(wired.services)
    yield wired
    bootstrap.override(None)
