"""Write ``firebase.json`` from the function registry (``make firebase-json``).

A test keeps the committed file equal to what this renders, so hosting rewrites can never drift
from the registry. ``ops.deploy`` renders the same for one environment (its region and Firestore
database), which the deploy hands to ``firebase deploy --config``.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.stack import ROOT, Ports
from functions.registry import hosting

FIREBASE_JSON = ROOT / "firebase.json"
RUNTIME = "python311"  # the functions' Python (ops/bytecode.py compiles for the same)
# What a function's source upload holds: exactly these, from the repository root (ops.bytecode
# compiles the same, and their __pycache__ ships on purpose: the root's holds main.py's).
UPLOAD = ("main.py", "__pycache__", "requirements.txt", "functions", "shared")
# Firebase's `ignore` is a deny-list of globs (minimatch with matchBase: a pattern without a slash
# names a file or folder anywhere), so the allow-list is written as its complement: every other
# entry of the root. A test walks the tree and fails on any file outside UPLOAD that
# these do not exclude, so a new top-level folder cannot ship unnoticed.
UPLOAD_IGNORE = (
    ".*",  # .git, .venv, .stack, .deploy, .env*, caches: nothing of it runs in production
    "venv",
    "node_modules",
    "bench",
    "client",
    "deploy",
    "devstack",
    "docs",
    "ops",
    "portal",
    "sdk",
    "tests",
    "test-artifacts",
    "Makefile",
    "README.md",
    "firebase.json",
    "firebase.*.json",
    "firestore.rules",
    "firestore.indexes.json",
    "pyproject.toml",
    "requirements-dev.txt",
    "*.log",
    "bench-results.json",  # what `make bench` writes beside the sources
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
)


def functions_config() -> list[dict[str, Any]]:
    return [
        {
            "source": ".",
            "codebase": "default",
            "runtime": RUNTIME,
            "ignore": list(UPLOAD_IGNORE),
        }
    ]


def firestore_config(database: str) -> dict[str, str] | list[dict[str, str]]:
    """Rules and indexes of the one database the functions use (a named one by its id)."""
    files = {"rules": "firestore.rules", "indexes": "firestore.indexes.json"}
    return files if database == "(default)" else [{"database": database, **files}]


def render(region: str = "us-central1", database: str = "(default)") -> dict[str, Any]:
    ports = Ports()
    return {
        "firestore": firestore_config(database),
        "functions": functions_config(),
        "hosting": hosting(region),
        "emulators": {
            "auth": {"host": "127.0.0.1", "port": ports.auth},
            "firestore": {"host": "127.0.0.1", "port": ports.firestore},
            "hub": {"host": "127.0.0.1", "port": ports.hub},
            "logging": {"host": "127.0.0.1", "port": ports.logging},
            "ui": {"enabled": False},
            "singleProjectMode": True,
        },
    }


def main() -> None:
    FIREBASE_JSON.write_text(json.dumps(render(), indent=2) + "\n")
    print(f"wrote {FIREBASE_JSON}")


if __name__ == "__main__":
    main()
