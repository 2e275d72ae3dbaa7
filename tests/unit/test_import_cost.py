"""Importing main.py builds no client and pulls in no payment SDK (cold starts pay only for use)."""

import os
import subprocess
import sys

PROBE = """
import sys
import main
sdks = ("stripe", "razorpay", "firebase_admin", "google.cloud.firestore", "google.events")
heavy = [m for m in sdks if m in sys.modules]
print(",".join(heavy))
"""


def test_importing_main_loads_no_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


SERVING = """
import sys
import main
main.{name}
print(",".join(m for m in ("firebase_functions", "firebase_admin") if m in sys.modules))
"""


def test_a_deployed_http_function_runs_its_handler_without_importing_the_sdk() -> None:
    # FUNCTION_TARGET is set by the platform on a deployed (or emulated) function only.
    env = {**os.environ, "FUNCTION_TARGET": "health"}
    result = subprocess.run(
        [sys.executable, "-c", SERVING.format(name="health")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    assert result.stdout.strip() == ""


def test_the_declared_function_wraps_the_very_handler_a_deployed_instance_runs() -> None:
    from functions.declarations import declare, serving_entry_point

    for name in ("health", "usage_record", "stripe_webhook"):
        declared = declare(name)
        assert declared.__wrapped__ is serving_entry_point(name)  # type: ignore[attr-defined]
        assert declared.__firebase_endpoint__.entryPoint == name  # type: ignore[attr-defined]
