"""Google's Cloud Firestore emulator: where it is, and the command that runs it with our rules.

The emulator is the Google Cloud CLI's ``cloud-firestore-emulator`` component (the jar that
``gcloud emulators firestore start`` and firebase-tools run). We start its jar with ``java``
directly rather than through ``gcloud`` (slow to start, and it rewrites its own config) or
``firebase emulators:start`` (which wants Java 21 and downloads its own copy, which this
machine's closed network refuses). Starting the jar ourselves keeps the emulator's PID ours to
stop, and its flags ours to set: loopback only, and ``--rules`` pointing at ``firestore.rules``
so every client request is judged by the rules production runs.

    python -m devstack.firestore_emulator   # prints the command, or one line on what is missing
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "firestore.rules"
COMPONENT = Path("platform") / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
# A project no test or developer uses: the readiness check's one document lives there.
WARM_UP_PROJECT = "devstack-warm-up"
INSTALL_EMULATOR = (
    "Google's Cloud Firestore emulator is not installed: install the Google Cloud CLI component "
    "(`gcloud components install cloud-firestore-emulator`, or Debian/Ubuntu's "
    "`apt-get install google-cloud-cli-firestore-emulator`), or set FIRESTORE_EMULATOR_JAR"
)
INSTALL_JAVA = (
    "Java {version} or later is needed to run Google's Firestore emulator: "
    "`apt-get install openjdk-{package}-jre-headless`, or set JAVA to a java binary"
)


class EmulatorMissing(RuntimeError):
    """What the machine lacks to run Google's Firestore emulator, in one line."""


class RulesRejected(RuntimeError):
    """The emulator started, but without firestore.rules in force (e.g. they do not compile)."""


def sdk_roots() -> list[Path]:
    """Where a Google Cloud CLI may be: beside ``gcloud`` on PATH, then the usual places."""
    roots: list[Path] = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(Path(gcloud).resolve().parent.parent)  # <sdk>/bin/gcloud
    if os.environ.get("CLOUDSDK_ROOT_DIR"):
        roots.append(Path(os.environ["CLOUDSDK_ROOT_DIR"]))
    roots += [Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk")]
    roots.append(Path.home() / "google-cloud-sdk")
    return roots


def emulator_jar() -> Path:
    override = os.environ.get("FIRESTORE_EMULATOR_JAR")
    candidates = [Path(override)] if override else [root / COMPONENT for root in sdk_roots()]
    for jar in candidates:
        if jar.is_file():
            return jar
    raise EmulatorMissing(INSTALL_EMULATOR)


def required_java(jar: Path) -> int:
    """The Java release the emulator's jar was compiled for, read off its main class.

    Google moves the emulator to newer Java releases over time (Java 21 from Cloud CLI 528.0.0,
    per its documentation): reading the class file's version says which one this copy needs,
    instead of letting an older JVM fail with UnsupportedClassVersionError in a log.
    """
    with zipfile.ZipFile(jar) as archive:
        header = archive.read(MAIN_CLASS.replace(".", "/") + ".class")[:8]
    return int.from_bytes(header[6:8], "big") - 44  # class file major 55 is Java 11


def java_binary(needed: int) -> str:
    install = INSTALL_JAVA.format(version=needed, package=max(needed, 17))
    java = os.environ.get("JAVA") or shutil.which("java")
    if not java:
        raise EmulatorMissing(install)
    try:
        banner = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except OSError as error:
        raise EmulatorMissing(f"{install} ({java}: {error})") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" is Java 8
        major = int(match.group(2))
    if major < needed:
        found = banner.splitlines()[0] if banner else java
        raise EmulatorMissing(f"{install} (found: {found})")
    return java


def command(port: int, rules: Path = RULES) -> list[str]:
    """The emulator on 127.0.0.1:``port``, judging client requests by ``rules``.

    Raises EmulatorMissing, naming what to install, when the component or Java is absent.
    """
    jar = emulator_jar()
    return [
        java_binary(required_java(jar)),
        "-Duser.language=en",  # the emulator only speaks English (as its own launcher sets)
        "-cp",
        str(jar),
        MAIN_CLASS,
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--rules={rules}",
    ]


def serves_documents(port: int) -> bool:
    """Whether the emulator on ``port`` writes and reads a document, and judges by our rules.

    The stack's readiness check. Listening is not enough: the JVM's first document request
    takes about 2 s (class loading, JIT), which would land on the first request of a test or a
    developer, over a Firestore timeout of 2 s in the fault tests. Paying it here, once, at
    start keeps every later request at its usual latency.

    Raises RulesRejected when the emulator could not compile the rules file: it still starts
    and serves the administrator then, and answers every client request with a 400, which
    nothing else would notice.
    """
    document = (
        f"http://127.0.0.1:{port}/v1/projects/{WARM_UP_PROJECT}/databases/(default)/documents/"
        "warm_up/emulator"
    )
    body = json.dumps({"fields": {"ready": {"booleanValue": True}}}).encode()
    as_admin = {"Authorization": "Bearer owner", "Content-Type": "application/json"}
    try:
        for request in (
            urllib.request.Request(document, data=body, method="PATCH", headers=as_admin),
            urllib.request.Request(document, headers=as_admin),
        ):
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                response.read()
    except urllib.error.HTTPError as error:
        message = error.read().decode(errors="replace")
        if "rules" in message:  # "Error compiling rules: L2:92 Unexpected '}'." (a 400)
            raise RulesRejected(f"the emulator refused firestore.rules: {message}") from None
        return False
    except OSError:  # not listening yet
        return False
    # A signed-out read of a collection the rules close: 403 once our rules are in force.
    signed_out = signed_out_status(document)
    if signed_out != (403, ""):
        raise RulesRejected(f"the emulator is not enforcing firestore.rules: {signed_out}")
    return True


def signed_out_status(url: str) -> tuple[int, str]:
    """The status of a signed-out GET of ``url``, and the emulator's message unless it is 403."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, "a signed-out client read a closed collection"
    except urllib.error.HTTPError as error:
        return error.code, "" if error.code == 403 else error.read().decode(errors="replace")


def main() -> None:
    try:
        print(" ".join(command(8080)))
    except EmulatorMissing as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
