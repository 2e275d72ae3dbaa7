"""Property-based fuzzing of every endpoint with schemathesis (``make fuzz``).

Runs against a gateway (the given one, or a stack of its own), with a real Auth-emulator user's
token, checks that nothing answers 5xx and that every response matches the OpenAPI document, then
audits the ledger invariants of every account the run touched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import requests

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
])


def user_token(auth_host: str) -> str:
    response = requests.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fuzz",
        json={"email": f"fuzz-{uuid.uuid4().hex[:10]}@fuzz.test", "password": "fuzz-pass-1",
              "returnSecureToken": True}, timeout=10)
    response.raise_for_status()
    return str(response.json()["idToken"])


def fuzz(gateway: str, max_examples: int, seed: int) -> int:
    """Run schemathesis against ``gateway``; return its exit code, then audit the ledger."""
    token = user_token(os.environ["FIREBASE_AUTH_EMULATOR_HOST"])
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    command = [
        schemathesis, "run", f"{gateway}/api/v1/openapi.json", "--url", gateway,
        "--checks", CHECKS, "--max-examples", str(max_examples), "--seed", str(seed),
        "--workers", "1", "--phases", "examples,coverage,fuzzing", "--no-color",
        "--request-timeout", "30", "-H", f"Authorization: Bearer {token}",
        "--suppress-health-check", "all",
    ]
    result = subprocess.run(command, check=False)
    from google.cloud import firestore

    from ops.audit import audit

    checked, problems = audit(firestore.Client(project=os.environ["FIREBASE_PROJECT_ID"]))
    print(f"ledger audit after fuzzing: {checked} accounts, {len(problems)} problems")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return result.returncode or (1 if problems else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", help="base URL of a running gateway (default: own stack)")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()
    if args.gateway:
        return fuzz(args.gateway, args.max_examples, args.seed)
    from devstack.stack import Ports, Stack

    stack = Stack(ports=Ports.free(), state_dir=Path(tempfile.mkdtemp(prefix="fuzz-stack-")))
    stack.start()
    try:
        os.environ.update(stack.client_env())
        return fuzz(stack.gateway_url, args.max_examples, args.seed)
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
