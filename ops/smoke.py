"""Smoke test of a running environment: ``make smoke ENV=production`` (or ``make smoke`` for dev).

Five steps, each reported pass or fail, exit status 1 if any failed:

1. health: Hosting's ``/api/v1/health`` answers 200;
2. a user read: a user's balance through Hosting, with the user's Firebase ID token;
3. a usage charge by the metering account, at the private function's own URL, with an ID token
   minted for the service audience: through Cloud Run's IAM invoker check and our identity
   check; 2xx, or 402 when the smoke user has no credits, both prove the path;
4. a scheduler run: the hold-expiry pass with the scheduler account's token;
5. a signed test webhook: a Stripe ``customer.created`` event signed with the webhook secret.

Against a deployed environment, tokens come from gcloud (``print-identity-token`` impersonating
each account: your login needs ``roles/iam.serviceAccountTokenCreator`` on them), the user's from
``SMOKE_USER_TOKEN`` and the webhook secret from Secret Manager; none is printed. Against
``make dev`` the same steps use the stack's local key, Auth emulator and webhook secret.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from functions.registry import http_function
from shared.access.auth import ServiceRole


@dataclass(frozen=True)
class Target:
    """Where an environment answers, and how to authenticate as each caller."""

    public_url: str  # Hosting (or the local gateway)
    service_url: Callable[[str], str]  # a private function's base URL, by name
    user_token: Callable[[], str]
    service_token: Callable[[ServiceRole], str]
    stripe_webhook_secret: Callable[[], str]
    usage_service: str  # a `service` the metering account may charge as


@dataclass(frozen=True)
class Outcome:
    step: str
    passed: bool
    detail: str


def _uid(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims.get("user_id") or claims["sub"])


def _status(response: requests.Response, *ok: int) -> tuple[bool, str]:
    return response.status_code in ok, f"HTTP {response.status_code} {response.text[:120]}"


def _health(target: Target) -> tuple[bool, str]:
    return _status(requests.get(f"{target.public_url}/api/v1/health", timeout=30), 200)


def _user_read(target: Target) -> tuple[bool, str]:
    headers = {"Authorization": f"Bearer {target.user_token()}"}
    url = f"{target.public_url}/api/v1/credits/balance"
    return _status(requests.get(url, headers=headers, timeout=30), 200)


def _usage_charge(target: Target) -> tuple[bool, str]:
    function = http_function("usage_record")
    body: dict[str, str | int] = {
        "user_id": _uid(target.user_token()),
        "service": target.usage_service,
        "amount": 1,
        "event_id": f"smoke-{uuid.uuid4().hex}",
        "description": "smoke test",
    }
    token = target.service_token(ServiceRole.METERING)
    response = requests.post(
        f"{target.service_url(function.name)}{function.path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(body["event_id"])},
        timeout=30,
    )
    return _status(response, 200, 201, 402)


def _scheduler_run(target: Target) -> tuple[bool, str]:
    function = http_function("holds_expire")
    token = target.service_token(ServiceRole.SCHEDULER)
    response = requests.post(
        f"{target.service_url(function.name)}{function.path}",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    return _status(response, 200)


def _signed_webhook(target: Target) -> tuple[bool, str]:
    import stripe

    event = {
        "id": f"evt_smoke_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_smoke", "object": "customer"}},
    }
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, target.stripe_webhook_secret())
    response = requests.post(
        f"{target.public_url}/api/v1/webhooks/stripe",
        data=body.encode(),
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=30,
    )
    return _status(response, 200)


STEPS: tuple[tuple[str, Callable[[Target], tuple[bool, str]]], ...] = (
    ("health", _health),
    ("user read", _user_read),
    ("usage charge through IAM", _usage_charge),
    ("scheduler run", _scheduler_run),
    ("signed test webhook", _signed_webhook),
)


def run(target: Target, say: Callable[[str], None] = print) -> list[Outcome]:
    outcomes = []
    for name, step in STEPS:
        try:
            passed, detail = step(target)
        except Exception as error:  # a smoke test reports every step, whatever breaks
            passed, detail = False, f"{type(error).__name__}: {error}"
        outcomes.append(Outcome(name, passed, detail))
        say(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    return outcomes


def dev_target(stack: Any) -> Target:
    """``make dev``'s stack (or a test's): its gateway plays Hosting and Cloud Run alike."""
    from devstack.tokens import service_token, user_token

    users: dict[str, str] = {}

    def user() -> str:
        if "token" not in users:
            users["token"] = user_token(stack, None)
        return users["token"]

    def role(kind: ServiceRole) -> str:
        return service_token(stack, kind.value)

    def secret() -> str:
        # The running stack's, as it wrote it (`make dev` may take the developer's own).
        written = stack.state_dir / "stripe.env"
        lines = written.read_text().splitlines() if written.exists() else []
        found = [line.split("=", 1)[1] for line in lines if line.startswith("STRIPE_WEBHOOK")]
        return found[0] if found else str(stack.stripe_webhook_secret)

    from devstack.stack import METERING_SERVICES

    return Target(
        stack.gateway_url,
        lambda _name: str(stack.gateway_url),
        user,
        role,
        secret,
        METERING_SERVICES[0],
    )


def deployed_target(env: str) -> Target:
    """A deployed environment: Hosting's URL, each private function's own URL, gcloud's tokens."""
    import os

    from ops.deploy import config_path, function_url
    from ops.deploy_config import load

    config = load(config_path(env))
    audience = config.settings["SERVICE_AUDIENCE"]

    binary = shutil.which("gcloud")
    if binary is None:
        raise SystemExit("make smoke ENV=... needs gcloud (signed in) for the service tokens")

    def gcloud(*args: str) -> str:
        return subprocess.run(
            [binary, *args, f"--project={config.project}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def role(kind: ServiceRole) -> str:
        scheduler = kind is ServiceRole.SCHEDULER
        account = config.scheduler_account if scheduler else config.metering_accounts[0]
        return gcloud(
            "auth",
            "print-identity-token",
            f"--impersonate-service-account={account}",
            f"--audiences={audience}",
            "--include-email",
        )

    def secret() -> str:
        return gcloud("secrets", "versions", "access", "latest", "--secret=STRIPE_WEBHOOK_SECRET")

    metering = config.metering_accounts[0]
    names = json.loads(config.settings.get("SERVICE_NAMES", "{}")).get(metering, [])
    return Target(
        f"https://{config.project}.web.app",
        lambda name: function_url(config, name),
        lambda: os.environ["SMOKE_USER_TOKEN"],
        role,
        secret,
        names[0] if names else metering.partition("@")[0],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="", help="deploy/<env>.toml; empty: the make dev stack")
    args = parser.parse_args(argv)
    if args.env:
        target = deployed_target(args.env)
    else:
        from devstack.stack import Stack

        target = dev_target(Stack.from_environment({}))
    outcomes = run(target)
    failed = [o.step for o in outcomes if not o.passed]
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} steps passed; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
