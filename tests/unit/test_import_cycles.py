"""No import circle in the domain or the bench: every import counts, including those inside
functions and under ``TYPE_CHECKING`` (a circle there still ties the modules together)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from ops.settings_reach import ROOT


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports (``from x import y`` counts x.y if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name == package or name.startswith(f"{package}.")}


def cycle(package: str) -> list[str]:
    paths = sorted((ROOT / package).rglob("*.py"))
    modules = {module_name(path): path for path in paths}
    # The package itself is its empty __init__.py: importing it ties nothing together.
    graph = {
        name: sorted(t for t in imports(path, package) if t in modules and t not in (name, package))
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str]:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done:
            return []
        for target in graph[name]:
            found = visit(target, [*trail, name])
            if found:
                return found
        done.add(name)
        return []

    for name in graph:
        found = visit(name, [])
        if found:
            return found
    return []


@pytest.mark.parametrize("package", ["shared", "bench"])
def test_no_import_circle(package: str) -> None:
    assert cycle(package) == []


def test_a_circle_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "__init__.py").write_text("")
    (tmp_path / "loop" / "a.py").write_text("from loop.b import x\n")
    (tmp_path / "loop" / "b.py").write_text("def f():\n    from loop import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert cycle("loop") == ["loop.a", "loop.b", "loop.a"]
