"""The web SDK (sdk/) cannot drift from the service: its types are generated from the OpenAPI
document this code serves, it type-checks against them, its bundles (build output, not in git)
are what its sources build and hold every file the package and the portal load, and its own
(vitest) unit tests pass. `make test` runs vitest from here.

Needs sdk/node_modules and sdk/dist (`make sdk`: `npm ci` from the lock file, then the build;
`make dev` and `make test` run it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

Completed = subprocess.CompletedProcess[str]
ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"
GENERATED = SDK / "src" / "generated" / "api.ts"
# What the build reads; dist/ is what it writes (package.json's "build" script).
BUILD_INPUTS = ("src", "package.json", "tsconfig.json", "tsconfig.build.json")


@pytest.fixture(scope="module")
def npm() -> str:
    npm = shutil.which("npm")
    assert npm, "npm is needed for the web SDK's tests (Node 20 and npm)"
    assert (SDK / "node_modules" / ".bin" / "vitest").exists(), (
        "sdk/node_modules is missing: run `make sdk` (npm ci in sdk/)"
    )
    return npm


def run(command: list[str], cwd: Path, stdin: str | None = None) -> Completed:
    return subprocess.run(
        command, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=240, check=False
    )


def test_generated_types_are_what_the_served_openapi_document_produces(npm: str) -> None:
    document = run([sys.executable, "-m", "functions.openapi"], ROOT)
    assert document.returncode == 0, document.stderr
    types = run([npm, "run", "--silent", "types"], SDK, stdin=document.stdout)
    assert types.returncode == 0, types.stderr
    assert types.stdout == GENERATED.read_text(), (
        "sdk/src/generated/api.ts is stale: run `cd sdk && npm run generate && npm run build`"
    )


def test_the_sdk_type_checks_strictly_against_the_generated_types(npm: str) -> None:
    typecheck = run([npm, "run", "--silent", "typecheck"], SDK)
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr


def test_the_built_bundles_are_what_the_sources_build(npm: str, tmp_path: Path) -> None:
    for name in BUILD_INPUTS:
        source = SDK / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(SDK / "node_modules")
    build = run([npm, "run", "--silent", "build"], tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    built = {p.relative_to(tmp_path / "dist"): p.read_bytes() for p in files(tmp_path / "dist")}
    assert (SDK / "dist").is_dir(), "sdk/dist is missing: run `make sdk`"
    local = {p.relative_to(SDK / "dist"): p.read_bytes() for p in files(SDK / "dist")}
    names = built.keys() | local.keys()
    stale = sorted(str(name) for name in names if built.get(name) != local.get(name))
    assert not stale, f"sdk/dist is stale ({stale}): run `make sdk`"
    # What the package's exports and the portal name must be among what the build writes.
    loaded = {Path(target).relative_to("dist") for target in exported(SDK / "package.json")}
    portal_link = (ROOT / "portal" / "sdk" / "billing-client.js").readlink()
    loaded.add(Path(portal_link.name))
    assert loaded <= built.keys(), sorted(map(str, loaded - built.keys()))


def test_no_build_output_of_the_sdk_is_in_git() -> None:
    git = shutil.which("git")
    assert git, "git is needed to see what the repository tracks"
    tracked = run([git, "ls-files", "sdk/dist"], ROOT)
    assert tracked.returncode == 0, tracked.stderr
    assert tracked.stdout == "", "sdk/dist is build output: `git rm -r --cached sdk/dist`"
    assert run([git, "check-ignore", "-q", "sdk/dist/index.js"], ROOT).returncode == 0


def exported(package_json: Path) -> list[str]:
    """Every file path named by the package's ``exports`` (nested conditions included)."""
    found: list[str] = []
    pending: list[object] = [json.loads(package_json.read_text())["exports"]]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found.append(value.removeprefix("./"))
        elif isinstance(value, dict):
            pending.extend(value.values())
    return found


def test_the_sdk_unit_tests_pass(npm: str) -> None:
    vitest = run([npm, "exec", "--", "vitest", "run", "--reporter=dot"], SDK)
    assert vitest.returncode == 0, vitest.stdout + vitest.stderr


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
