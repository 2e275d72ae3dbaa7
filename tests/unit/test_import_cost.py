"""Importing main.py builds no client and pulls in no payment SDK (cold starts pay only for use)."""

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
