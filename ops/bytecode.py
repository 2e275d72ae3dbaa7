"""Ship compiled bytecode with the deployed source, so no cold start compiles our modules.

Site-packages arrive compiled (pip compiles at install); our own source would otherwise be
compiled by every new instance, ~20 ms of each cold start. Hash-checked pycs stay valid after
the upload resets file times, and are rejected (then recompiled) if a source ever differs.
The cache tag must match the runtime (``python311`` → CPython 3.11).
"""

from __future__ import annotations

import compileall
import py_compile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("main.py", "functions", "shared")  # what the functions import at run time
RUNTIME_PYTHON = "python3.11"


def command() -> list[str]:
    """The deploy step that compiles ``SOURCES`` (run from the repository root)."""
    return [
        RUNTIME_PYTHON,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "checked-hash",
        *SOURCES,
    ]


def compile_sources(*extra: Path) -> bool:
    """Compile ``SOURCES`` (and ``extra`` files) in this interpreter, as the deploy step does."""
    mode = py_compile.PycInvalidationMode.CHECKED_HASH
    ok = True
    for source in (*(ROOT / s for s in SOURCES), *extra):
        if source.is_dir():
            ok &= bool(compileall.compile_dir(source, quiet=1, invalidation_mode=mode))
        else:
            ok &= bool(compileall.compile_file(source, quiet=1, invalidation_mode=mode))
    return ok
