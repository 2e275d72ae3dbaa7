"""``firestore.rules`` grants no client write, whatever the condition: checked on the rules text.

How the rules behave is proved on Google's Firestore emulator by
``tests/integration/test_firestore_rules_enforced.py``: who reads which document, which queries
pass, that every write is refused and every other collection closed. A request can only sample a
condition, though: a write allowed under some condition those requests never meet (a field value,
a time) would pass them. So the one promise kept here is the unconditional one: every ``allow``
that is not ``if false`` grants reads only.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = (ROOT / "firestore.rules").read_text()
READ_METHODS = {"read", "get", "list"}


def code(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)  # a comment may say "allow write" and grant nothing


def allows(text: str) -> list[tuple[list[str], str]]:
    """Every ``allow`` statement: its methods and its condition (whitespace collapsed)."""
    found = re.findall(r"\ballow\s+([\w\s,]+?)\s*(?::\s*if\s+([^;]+))?;", code(text))
    return [
        ([m.strip() for m in methods.split(",")], " ".join(cond.split())) for methods, cond in found
    ]


def test_the_parser_sees_every_allow() -> None:
    assert len(allows(RULES)) == len(re.findall(r"\ballow\b", code(RULES)))
    assert allows("allow read, write: if false;\nallow  create : if x ;  allow delete;") == [
        (["read", "write"], "false"),
        (["create"], "x"),
        (["delete"], ""),
    ]


def test_no_allow_grants_a_write() -> None:
    grants = [(methods, cond) for methods, cond in allows(RULES) if cond != "false"]
    assert grants, "the rules open nothing to clients: docs/api.md promises some reads"
    assert [(m, c) for m, c in grants if not set(m) <= READ_METHODS] == []
