"""The layer rule is a lint rule: the domain imports no adapter, no entry point, no SDK, no os."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"

FORBIDDEN_IN_DOMAIN = [
    "from shared.adapters.firestore_ledger import FirestoreLedger",
    "from shared import adapters",
    "import shared.adapters.fcm",
    "from functions.http import json_handler",
    "import functions.registry",
    "import os",
    "from google.cloud import firestore",
    "import stripe",
]


def ruff_accepts(source: str, as_file: str) -> bool:
    """Lint ``source`` as if it were ``as_file`` (per-file rules apply), leaving the tree alone."""
    done = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--stdin-filename", as_file, "-"],
        input=f"{source}  # noqa: F401\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0 and "TID251" not in done.stdout


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to this interpreter")
@pytest.mark.parametrize("line", FORBIDDEN_IN_DOMAIN)
def test_the_domain_may_not_import_adapters_entry_points_or_sdks(line: str) -> None:
    assert not ruff_accepts(line, "shared/new_domain_module.py")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to this interpreter")
@pytest.mark.parametrize(
    "as_file", ["shared/bootstrap.py", "shared/adapters/new_store.py", "functions/new_handler.py"]
)
def test_wiring_adapters_and_entry_points_may_import_adapters(as_file: str) -> None:
    assert ruff_accepts("from shared.adapters.firestore_ledger import FirestoreLedger", as_file)
