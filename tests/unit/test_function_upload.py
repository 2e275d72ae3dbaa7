"""What a function's source upload holds: exactly the allow-list, never a config, cache or secret.

`firebase deploy` zips the codebase's source folder, leaving out each path that a pattern of
``functions.ignore`` matches (firebase-tools' ``fsAsync.readdirRecursive``: minimatch with
``matchBase`` and ``dot``; an ignored folder is not entered). We apply the same rules to this
checkout, whatever lies in it (venvs, caches, ``.env`` files, deploy configurations).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from devstack.firebase_json import FIREBASE_JSON, UPLOAD, UPLOAD_IGNORE
from devstack.stack import ROOT


def ignored(path: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if "/" not in pattern:  # matchBase: the pattern is matched against the last name
            if fnmatch.fnmatchcase(path.name, pattern):
                return True
        elif pattern.startswith("**/") and pattern[3:] in path.parts:
            return True
    return False


def uploaded(root: Path, patterns: tuple[str, ...]) -> list[str]:
    files = []
    for folder, dirs, names in os.walk(root):
        here = PurePosixPath(Path(folder).relative_to(root).as_posix())
        dirs[:] = [d for d in dirs if not ignored(here / d, patterns)]
        files += [str(here / n) for n in names if not ignored(here / n, patterns)]
    return sorted(f.removeprefix("./") for f in files)


def test_the_upload_holds_only_the_allow_list() -> None:
    files = uploaded(ROOT, UPLOAD_IGNORE)
    outside = [f for f in files if PurePosixPath(f).parts[0] not in UPLOAD]
    assert outside == [], "outside the allow-list: add to UPLOAD_IGNORE (or to UPLOAD)"
    for needed in ("main.py", "requirements.txt", "functions/registry.py", "shared/bootstrap.py"):
        assert needed in files
    assert "functions/function_secrets.json" in files  # read at run time


def test_configs_caches_and_environment_files_never_ship(tmp_path: Path) -> None:
    for name in (
        ".env",
        ".env.acme-prod",
        ".firebase.production.json",
        "deploy/production.toml",
        ".deploy/production/x.json",
        "functions/.pytest_cache/x",
        "sdk/node_modules/x.js",
        "portal/index.html",
        "venv/lib/x.py",
        "firebase-debug.log",
        "bench-results.json",
        "shared/ledger/model.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert uploaded(tmp_path, UPLOAD_IGNORE) == ["shared/ledger/model.py"]


def test_firebase_json_declares_the_same_ignore_list() -> None:
    import json

    (codebase,) = json.loads(FIREBASE_JSON.read_text())["functions"]
    assert tuple(codebase["ignore"]) == UPLOAD_IGNORE
