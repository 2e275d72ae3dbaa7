"""Every promise in docs/guarantees.md names tests that exist: moving a test moves its row too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "guarantees.md"
PATH = re.compile(r"`((?:tests|sdk)/[^`\s]+)`")
SHORT = re.compile(r"`(test_\w+\.py)`")  # a file of the directory named before it in the row


def rows() -> list[str]:
    lines = TABLE.read_text().splitlines()
    header = ("| promise", "| ---")
    return [line for line in lines if line.startswith("| ") and not line.startswith(header)]


def test_every_guarantee_names_at_least_one_test() -> None:
    assert rows()
    untested = [row[:80] for row in rows() if not PATH.search(row.rsplit("|", 2)[-2])]
    assert untested == []


def test_every_test_a_guarantee_names_exists() -> None:
    missing = []
    for row in rows():
        proof = row.rsplit("|", 2)[-2]
        paths = PATH.findall(proof)
        missing += [p for p in paths if not (ROOT / p).exists()]
        folders = {str(Path(p).parent) for p in paths}
        missing += [
            name
            for name in SHORT.findall(proof)
            if not any((ROOT / folder / name).exists() for folder in folders)
        ]
    assert missing == []
