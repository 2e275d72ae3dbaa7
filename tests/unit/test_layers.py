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
DOMAIN = sorted(p for p in (ROOT / "shared").rglob("*.py") if ADAPTERS not in p.parents)
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


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_domain_module_names_a_collection_or_a_document_shape(path: Path) -> None:
    assert list(storage_knowledge(path.read_text(), storage_names())) == []


# The business areas, lowest first: an area imports the kernel and the areas before it only.
AREAS = ["access", "ledger", "accounts", "usage", "payments", "purchases", "invoices"]
KERNEL = {"errors", "ids", "money", "log", "config"}


def shared_imports(source: str) -> Iterator[str]:
    """The ``shared.*`` modules that ``source`` imports (at any depth of the file)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("shared"))


def area_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def area_violations(source: str, as_path: Path) -> list[str]:
    """Imports of ``source`` (the file ``as_path``) from a higher area, or from outside the kernel
    and the areas."""
    rank = AREAS.index(area_of(".".join(as_path.relative_to(ROOT).with_suffix("").parts)))
    return [
        f"{as_path.relative_to(ROOT)} imports {module}"
        for module in shared_imports(source)
        if area_of(module) not in KERNEL
        and (area_of(module) not in AREAS or AREAS.index(area_of(module)) > rank)
    ]


def test_the_domain_is_the_kernel_and_the_business_areas() -> None:
    top = {p.name for p in (ROOT / "shared").iterdir() if not p.name.startswith(("_", "."))}
    kernel = {f"{name}.py" for name in KERNEL | {"bootstrap"}}
    assert top == kernel | set(AREAS) | {"adapters", "py.typed"}


@pytest.mark.parametrize("path", [p for p in DOMAIN if p.parent != ROOT / "shared"], ids=str)
def test_an_area_imports_only_the_kernel_and_lower_areas(path: Path) -> None:
    assert area_violations(path.read_text(), path) == []


def test_an_import_from_a_higher_area_is_found() -> None:
    source = "from shared.purchases.orders import CreditOrder\nfrom shared.errors import NotFound\n"
    probe = ROOT / "shared" / "ledger" / "probe.py"
    assert area_violations(source, probe) == [
        "shared/ledger/probe.py imports shared.purchases.orders"
    ]


def test_area_packages_import_nothing() -> None:
    """Cold starts import only what a function uses: an area's ``__init__`` pulls in nothing."""
    for init in (ROOT / "shared").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], init
