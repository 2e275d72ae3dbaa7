"""A test whose prerequisite (Chromium, node, a free default port) is missing: skip or fail.

On a developer's machine a missing tool is a skip that says what to install. Under CI
(``CI=true``, which .ci/run exports and every CI service sets) it is a failure: a skipped
browser or walkthrough test there would let a broken portal or README through looking green.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

CI_VALUES = frozenset({"true", "1", "yes"})


def under_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``CI`` says a CI service runs the suite (GitHub, GitLab, .ci/run: ``true``)."""
    return environ.get("CI", "").strip().lower() in CI_VALUES


def prerequisite_missing(reason: str) -> NoReturn:
    """Skip the calling test with ``reason`` locally; fail it with ``reason`` under CI."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: a missing prerequisite fails the run, never skips)")
    pytest.skip(reason)
