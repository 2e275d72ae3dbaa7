"""Property-based fuzzing of every endpoint with schemathesis (``make fuzz``).

Runs against a gateway (the given one, or a stack of its own) once per auth kind of the registry,
each pass over that kind's operations with a valid credential of that kind: a Firebase user's ID
token for user endpoints, a user with the ``admin`` claim for admin endpoints, the metering or the
scheduler account's ID token for the service endpoints of that role, and nothing for health and
webhooks. Checks that
nothing answers 5xx and that every response matches the OpenAPI document, then audits the ledger
invariants of every account the run touched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from functions.openapi import operation_id
from functions.registry import HTTP_FUNCTIONS, Auth
from shared.access.auth import ServiceRole

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
PASSWORD = "fuzz-pass-1"  # noqa: S105 -- Auth-emulator users of a throwaway stack


@dataclass(frozen=True)
class Credentials:
    """One valid credential per auth kind that needs one."""

    user: str
    admin: str
    service: str  # the metering account
    scheduler: str

    def header(self, pass_name: str) -> str | None:
        token = getattr(self, pass_name, None)
        return None if token is None else f"Authorization: Bearer {token}"


def _auth_rest(auth_host: str, action: str, email: str) -> str:
    response = requests.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:{action}?key=fuzz",
        json={"email": email, "password": PASSWORD, "returnSecureToken": True},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["idToken"])


def user_token(auth_host: str) -> str:
    return _auth_rest(auth_host, "signUp", f"fuzz-{uuid.uuid4().hex[:10]}@fuzz.test")


def admin_token(auth_host: str, project_id: str) -> str:
    """Sign up a user, give it the ``admin`` claim, sign in again for a token carrying it."""
    from firebase_admin import auth

    from shared.adapters.firebase_auth import build_firebase_app

    email = f"fuzz-admin-{uuid.uuid4().hex[:10]}@fuzz.test"
    _auth_rest(auth_host, "signUp", email)
    app = build_firebase_app(project_id)
    auth.set_custom_user_claims(auth.get_user_by_email(email, app=app).uid, {"admin": True},
                                app=app)  # fmt: skip
    return _auth_rest(auth_host, "signInWithPassword", email)


def service_token(key_path: Path, email: str) -> str:
    from devstack.service_tokens import ServiceTokenIssuer

    issuer = ServiceTokenIssuer.load(key_path)
    return issuer.mint(email, os.environ["SERVICE_AUDIENCE"])


def operation_ids(kinds: tuple[Auth, ...], role: ServiceRole | None = None) -> list[str]:
    return [
        operation_id(f, m)
        for f in HTTP_FUNCTIONS
        if f.auth in kinds and f.role is role
        for m in f.methods
    ]


# One pass per credential; health and webhooks share the pass without one. Service endpoints
# answer to their role's accounts only, so each role has its pass.
PASSES: dict[str, tuple[tuple[Auth, ...], ServiceRole | None]] = {
    "user": ((Auth.USER,), None),
    "admin": ((Auth.ADMIN,), None),
    "service": ((Auth.SERVICE,), ServiceRole.METERING),
    "scheduler": ((Auth.SERVICE,), ServiceRole.SCHEDULER),
    "public": ((Auth.NONE, Auth.WEBHOOK), None),
}


def run_pass(gateway: str, name: str, header: str | None, max_examples: int, seed: int) -> int:
    ids = operation_ids(*PASSES[name])
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    command = [
        schemathesis,
        "run",
        f"{gateway}/api/v1/openapi.json",
        "--url",
        gateway,
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--no-color",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--include-operation-id-regex",
        "^(" + "|".join(ids) + ")$",
    ]
    if header is not None:
        command += ["-H", header]
    print(f"=== fuzz pass {name}: {len(ids)} operations: {', '.join(ids)}", flush=True)
    code = subprocess.run(command, check=False).returncode
    print(f"=== fuzz pass {name}: exit {code}", flush=True)
    return code


def fuzz(gateway: str, max_examples: int, seed: int, service_key: Path) -> int:
    """Run one schemathesis pass per auth kind against ``gateway``, then audit the ledger."""
    auth_host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    project_id = os.environ["FIREBASE_PROJECT_ID"]
    from devstack.stack import METERING_SERVICE_EMAIL, SCHEDULER_SERVICE_EMAIL

    credentials = Credentials(
        user_token(auth_host),
        admin_token(auth_host, project_id),
        service_token(service_key, METERING_SERVICE_EMAIL),
        service_token(service_key, SCHEDULER_SERVICE_EMAIL),
    )
    codes = {
        name: run_pass(gateway, name, credentials.header(name), max_examples, seed)
        for name in PASSES
    }
    from google.cloud import firestore

    from ops.audit import audit

    checked, problems = audit(firestore.Client(project=project_id))
    print(f"fuzz passes: {codes}")
    print(f"ledger audit after fuzzing: {checked} accounts, {len(problems)} problems")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return max(codes.values()) or (1 if problems else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", help="base URL of a running gateway (default: own stack)")
    parser.add_argument("--service-key", type=Path,
                        help="the stack's service identity key (with --gateway)")  # fmt: skip
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()
    if args.gateway:
        if args.service_key is None:
            parser.error("--gateway needs --service-key (the stack's service-identity-key.pem)")
        return fuzz(args.gateway, args.max_examples, args.seed, args.service_key)
    from devstack.stack import Ports, Stack

    stack = Stack(ports=Ports.free(), state_dir=Path(tempfile.mkdtemp(prefix="fuzz-stack-")))
    stack.start()
    try:
        os.environ.update(stack.client_env())
        return fuzz(stack.gateway_url, args.max_examples, args.seed, stack.service_key_path)
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
