"""Which settings each deployed function reads, found by reading the code (no import, no guess).

A function reads settings in two ways: its code touches ``services.settings.<field>`` or a
wired service (``services.ledger``, ``services.purchases``, …), and each service, built in
``shared/bootstrap.py``, reads settings fields and other services. HTTP functions also run the
shared wrapper ``functions/http.py``. The closure over that graph is what the function may read,
so the deploy plan gives it exactly those settings (and secrets) and nothing else.

A function's code is its own definition, the module's helpers it names (transitively), and what
its module runs on import; not the other functions of its module, so an endpoint that only reads
orders gets no provider secret because its neighbour creates orders at a provider. Within that
code the analysis over-approximates by attribute name, which is the safe side: a setting given
but unused costs nothing, one read but not given breaks production. Helpers imported from other
``functions`` modules count whole. ``unseen_settings_reads`` keeps it honest: settings read any
other way (``get_settings()`` outside the wiring) fail the deploy tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from shared.config import Settings

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "shared" / "bootstrap.py"
CONFIG = ROOT / "shared" / "config.py"
HTTP_WRAPPER = "functions.http"
# Modules allowed to read settings without going through the wiring.
SETTINGS_OWNERS = frozenset({"shared/config.py", "shared/bootstrap.py"})


def module_path(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def _attributes(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise LookupError(f"class {name} not found")


@cache
def _settings_properties() -> dict[str, frozenset[str]]:
    """Derived settings (``@property`` on Settings) and the fields each one reads."""
    fields = set(Settings.model_fields)
    cls = _class(ast.parse(CONFIG.read_text()), "Settings")
    return {
        node.name: frozenset(_attributes(node) & fields)
        for node in cls.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)
    }


@cache
def _wiring() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Each wired service's directly touched names, and the names every instance touches."""
    cls = _class(ast.parse(BOOTSTRAP.read_text()), "Services")
    services: dict[str, frozenset[str]] = {}
    always: set[str] = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            if "cached_property" in decorators:
                services[node.name] = frozenset(_attributes(node))
            else:  # __post_init__ and the like run for every instance
                always |= _attributes(node)
    return services, frozenset(always)


def _expand(names: Iterable[str]) -> frozenset[str]:
    """Close ``names`` over the wiring; return the settings fields reached."""
    services, always = _wiring()
    fields = set(Settings.model_fields)
    derived = _settings_properties()
    seen: set[str] = set()
    todo = [*names, *always]
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in fields:
            reached.add(name)
        elif name in derived:
            reached |= derived[name]
        elif name in services:
            todo.extend(services[name])
    return frozenset(reached)


@cache
def settings_read_by_module(module: str) -> frozenset[str]:
    """The settings fields that code in ``module`` may read, through the wiring."""
    return _expand(_attributes(ast.parse(module_path(module).read_text())))


@cache
def settings_read_by_function(module: str, name: str) -> frozenset[str]:
    """The settings fields that function ``name`` of ``module`` may read, through the wiring."""
    return _expand(_function_attributes(module, name))


def settings_read_by_http_function(module: str, name: str) -> frozenset[str]:
    return settings_read_by_module(HTTP_WRAPPER) | settings_read_by_function(module, name)


def _function_attributes(module: str, name: str) -> set[str]:
    """Attribute names in the code function ``name`` runs: itself, its helpers, the import."""
    tree = ast.parse(module_path(module).read_text())
    definitions: dict[str, ast.stmt] = {}
    imported: dict[str, str] = {}  # helper name -> the functions module it comes from
    on_import: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            definitions[node.name] = node
        else:
            on_import.append(node)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("functions."):
            imported |= {alias.asname or alias.name: str(node.module) for alias in node.names}
    if name not in definitions:
        raise LookupError(f"{module} defines no function {name}")
    attributes: set[str] = set()
    seen: set[str] = set()
    todo: list[ast.stmt] = [definitions[name], *on_import]
    while todo:
        node = todo.pop()
        attributes |= _attributes(node)
        for used in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - seen:
            seen.add(used)
            if used in definitions and used != name:
                todo.append(definitions[used])
            elif used in imported and imported[used] != HTTP_WRAPPER:
                attributes |= _attributes(ast.parse(module_path(imported[used]).read_text()))
    return attributes


def unseen_settings_reads(sources: Iterable[Path]) -> list[str]:
    """Places that build or fetch settings outside the wiring (the analysis would miss them)."""
    found = []
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        if relative in SETTINGS_OWNERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.Attribute):
                name = node.attr
            if name in ("get_settings", "from_environment", "Settings"):
                found.append(f"{relative}:{getattr(node, 'lineno', 0)} uses {name}")
    return found
