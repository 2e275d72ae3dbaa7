"""Credentials for trying the running local stack by hand (``make dev`` in another terminal).

    make -s user-token                  # a new user in the Auth emulator: prints its ID token
    make -s admin-token                 # a new user with the custom claim admin: true
    make -s service-token               # the metering service account's OIDC ID token
    make -s service-token ROLE=scheduler

Each user token belongs to a fresh e-mail address unless ``EMAIL=...`` is given (then that user
signs in, or is created on first use), so a walkthrough can be run again as written.
Only the token is printed, so ``TOKEN=$(make -s user-token)`` works.
"""

from __future__ import annotations

import argparse
import os
import uuid

import requests

from devstack.processes import port_open
from devstack.stack import METERING_SERVICE_EMAIL, SCHEDULER_SERVICE_EMAIL, Stack

PASSWORD = "correct-horse-9"  # noqa: S105 - local Auth emulator users only
SERVICE_ACCOUNTS = {"metering": METERING_SERVICE_EMAIL, "scheduler": SCHEDULER_SERVICE_EMAIL}


def _identity(stack: Stack, action: str, email: str) -> requests.Response:
    return requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/accounts:{action}?key=local",
        json={"email": email, "password": PASSWORD, "returnSecureToken": True},
        timeout=10,
    )


def require_running(stack: Stack, kind: str) -> None:
    """Stop with one line, not a connection error's traceback, when `make dev` is not up.

    Every token is for calling the gateway; a user's is issued by the Auth emulator too.
    """
    needed = [stack.ports.gateway] if kind == "service" else [stack.ports.auth, stack.ports.gateway]
    for port in needed:
        if not port_open(port):
            raise SystemExit(
                f"the local stack is not running (nothing listens on 127.0.0.1:{port}): "
                "start it with `make dev` in another terminal"
            )


def user_token(stack: Stack, email: str | None, admin: bool = False) -> str:
    """Sign ``email`` in (creating it first if new) and return its ID token."""
    email = email or f"{'admin' if admin else 'user'}-{uuid.uuid4().hex[:8]}@example.test"
    response = _identity(stack, "signInWithPassword", email)
    if response.status_code != 200:
        response = _identity(stack, "signUp", email)
    response.raise_for_status()
    body = response.json()
    if admin and '"admin":true' not in _claims(stack, body["localId"]):
        _grant_admin(stack, body["localId"])
        response = _identity(stack, "signInWithPassword", email)  # a token carrying the claim
        response.raise_for_status()
        body = response.json()
    return str(body["idToken"])


def _claims(stack: Stack, uid: str) -> str:
    response = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/projects/{stack.project}"
        "/accounts:lookup",
        json={"localId": [uid]},
        headers={"Authorization": "Bearer owner"},  # the emulator's admin credential
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["users"][0].get("customAttributes", "")).replace(" ", "")


def _grant_admin(stack: Stack, uid: str) -> None:
    response = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/projects/{stack.project}"
        "/accounts:update",
        json={"localId": uid, "customAttributes": '{"admin":true}'},
        headers={"Authorization": "Bearer owner"},
        timeout=10,
    )
    response.raise_for_status()


def service_token(stack: Stack, role: str) -> str:
    from devstack.service_tokens import ServiceTokenIssuer

    if not stack.service_key_path.exists():
        raise SystemExit(f"no {stack.service_key_path}: start the stack first (make dev)")
    issuer = ServiceTokenIssuer.load(stack.service_key_path)
    return issuer.mint(SERVICE_ACCOUNTS[role], stack.service_audience)


def main(argv: list[str] | None = None, stack: Stack | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("user", "admin", "service"))
    parser.add_argument("--email", default=os.environ.get("EMAIL") or None)
    parser.add_argument("--role", choices=sorted(SERVICE_ACCOUNTS), default="metering")
    args = parser.parse_args(argv)
    stack = stack or Stack()  # the default ports and .stack/ of `make dev`
    require_running(stack, args.kind)
    if args.kind == "service":
        print(service_token(stack, args.role))
    else:
        print(user_token(stack, args.email, admin=args.kind == "admin"))


if __name__ == "__main__":
    main()
