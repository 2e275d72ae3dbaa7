"""The layer rule is a lint rule: the domain imports no adapter, no entry point, no SDK, no os.

Nor does it know how anything is stored: collection (and stored field) names and the encoding of
records into documents live in ``shared/adapters/``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
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


ADAPTERS = ROOT / "shared" / "adapters"
DOMAIN = sorted((ROOT / "shared").glob("*.py"))
SNAKE_CASE = re.compile(r"^_?[a-z][a-z0-9_]*$")


def storage_names() -> dict[str, str]:
    """Names the adapters store under (constants such as ``ORDERS = "credit_orders"``, and
    literals in ``.collection(...)``), each with where it is declared."""
    names: dict[str, str] = {}
    for path in sorted(ADAPTERS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for statement in tree.body:
            value = _string(statement.value) if isinstance(statement, ast.Assign) else None
            if value and SNAKE_CASE.match(value):
                for target in getattr(statement, "targets", []):
                    if isinstance(target, ast.Name) and target.id.isupper():
                        names[value] = f"{path.name}:{target.id}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "collection":
                literal = _string(node.args[0]) if node.args else None
                if literal:
                    names[literal] = path.name
    return names


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _not_code(tree: ast.Module) -> set[int]:
    """Docstrings and logger names: words about the domain, not about where things are stored."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and _string(first.value) is not None:
                found.add(id(first.value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "get_logger":
            found |= {id(arg) for arg in node.args}  # loggers are named "payments", "ledger"...
    return found


def storage_knowledge(source: str, names: dict[str, str]) -> Iterator[str]:
    """Where ``source`` names a stored collection or encodes a record into a document."""
    tree = ast.parse(source)
    skipped = _not_code(tree)
    for node in ast.walk(tree):
        text = None if id(node) in skipped else _string(node)
        line = getattr(node, "lineno", 0)
        if text is not None and text.split("/", 1)[0] in names:
            yield f"line {line}: {text!r} (stored by {names[text.split('/', 1)[0]]})"
        if isinstance(node, ast.FunctionDef) and node.name.endswith(("_document", "_documents")):
            yield f"line {line}: {node.name}() encodes a record for storage"
        if isinstance(node, ast.Attribute) and node.attr in ("collection", "document"):
            yield f"line {line}: .{node.attr} is a database call"


def test_the_adapters_declare_the_collections_the_check_looks_for() -> None:
    names = storage_names()
    for stored in ("credit_orders", "holds", "outbox", "credit_transactions", "user_credits"):
        assert stored in names


@pytest.mark.parametrize(
    "source",
    [
        'ORDERS = "credit_orders"',
        'where = "holds/" + hold_id',
        "def to_document(self) -> dict: ...",
        "ref = db.collection(name).document(key)",
    ],
)
def test_storage_knowledge_in_a_domain_module_is_found(source: str) -> None:
    assert list(storage_knowledge(source, storage_names()))


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: p.name)
def test_no_domain_module_names_a_collection_or_a_document_shape(path: Path) -> None:
    assert list(storage_knowledge(path.read_text(), storage_names())) == []
