"""Finding Google's Firestore emulator and a Java to run it, or one line on what is missing.

The emulator itself is exercised by every stack-backed test; what is checked here is the machine
without it: `make dev` and `make test` must stop at once with one line naming what to install,
never fall back to another emulator or fail later in a log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from devstack import firestore_emulator
from devstack.firestore_emulator import MAIN_CLASS, EmulatorMissing

ROOT = Path(__file__).resolve().parents[2]


def emulator_jar_for(java: int, folder: Path) -> Path:
    """A jar whose main class says it was compiled for ``java`` (class file major = java + 44)."""
    jar = folder / "cloud-firestore-emulator.jar"
    header = b"\xca\xfe\xba\xbe\x00\x00" + (java + 44).to_bytes(2, "big")
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr(MAIN_CLASS.replace(".", "/") + ".class", header)
    return jar


def fake_java(folder: Path, version: str) -> Path:
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-04-15' >&2\n")
    java.chmod(0o755)
    return java


def test_the_command_runs_the_emulator_on_loopback_with_our_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jar = emulator_jar_for(17, tmp_path)
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(jar))
    monkeypatch.setenv("JAVA", str(fake_java(tmp_path, "17.0.15")))
    argv = firestore_emulator.command(18080)
    assert argv[argv.index("-cp") + 1] == str(jar)
    assert "--host=127.0.0.1" in argv
    assert "--port=18080" in argv
    assert f"--rules={ROOT / 'firestore.rules'}" in argv


def test_a_missing_emulator_is_named_with_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(tmp_path / "absent.jar"))
    with pytest.raises(EmulatorMissing, match="gcloud components install cloud-firestore-emulator"):
        firestore_emulator.command(18080)


def test_a_java_older_than_the_jar_needs_is_refused_naming_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(emulator_jar_for(21, tmp_path)))
    monkeypatch.setenv("JAVA", str(fake_java(tmp_path, "17.0.15")))
    with pytest.raises(EmulatorMissing, match=r"Java 21 or later .* openjdk-21-jre-headless"):
        firestore_emulator.command(18080)


def test_no_java_at_all_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", str(emulator_jar_for(11, tmp_path)))
    monkeypatch.setenv("JAVA", str(tmp_path / "no-java-here"))
    with pytest.raises(EmulatorMissing, match="Java 11 or later"):
        firestore_emulator.command(18080)


def test_make_stops_at_once_with_one_line_when_the_emulator_is_missing(tmp_path: Path) -> None:
    """What `make dev` and `make test` run before anything else starts (their `install`)."""
    env = os.environ | {"FIRESTORE_EMULATOR_JAR": str(tmp_path / "absent.jar")}
    checked = subprocess.run(
        [sys.executable, "-m", "devstack.firestore_emulator"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1
    assert checked.stderr.strip().count("\n") == 0, checked.stderr
    assert "Firestore emulator is not installed" in checked.stderr
    plan = subprocess.run(
        ["make", "-n", "dev", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    first_check = plan.index("devstack.firestore_emulator")
    assert first_check < plan.index("devstack.stack") and first_check < plan.index("pytest")
