"""Deploy plan from the registry: ``make deploy`` prints it; ``--execute`` runs it.

First the source is compiled to bytecode that ships with it (``ops.bytecode``), then one
``gcloud functions deploy`` per registered function (HTTP and Firestore triggers), then one
``firebase deploy`` for Firestore rules, indexes and the hosting rewrites. Secrets come from Secret
Manager by name (``--set-secrets``); no secret value is ever read or printed here.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from functions.registry import HTTP_FUNCTIONS, TRIGGER_FUNCTIONS, HttpFunction, TriggerFunction
from ops import bytecode

RUNTIME = "python311"

# Environment variable -> Secret Manager secret, granted only to the functions that need it.
RAZORPAY_SECRETS = {
    "RAZORPAY_KEY_SECRET": "razorpay-key-secret",
    "RAZORPAY_WEBHOOK_SECRET": "razorpay-webhook-secret",
}
STRIPE_SECRETS = {
    "STRIPE_SECRET_KEY": "stripe-secret-key",
    "STRIPE_WEBHOOK_SECRET": "stripe-webhook-secret",
}
EVENT_SERVICE_SECRETS = {"EVENT_SERVICE_SECRET": "event-service-secret"}


# Each handler module and the providers it talks to; a module not listed talks to none.
MODULE_SECRETS: dict[str, dict[str, str]] = {
    "functions.credit_purchases": RAZORPAY_SECRETS | STRIPE_SECRETS,  # either provider sells
    "functions.payments": RAZORPAY_SECRETS,  # Razorpay checkout verify
    "functions.webhooks": RAZORPAY_SECRETS,
    "functions.payments_stripe": STRIPE_SECRETS,
    "functions.refunds": STRIPE_SECRETS,
    "functions.stripe_webhooks": STRIPE_SECRETS,
    "functions.reconcile": RAZORPAY_SECRETS | STRIPE_SECRETS,
    "functions.triggers_outbox": EVENT_SERVICE_SECRETS,
}


def secrets_for(module: str) -> dict[str, str]:
    """The secrets a function's module needs (least privilege, decided by what it talks to)."""
    return dict(MODULE_SECRETS.get(module, {}))


def _common(name: str, module: str, project: str, region: str) -> list[str]:
    command = [
        "gcloud",
        "functions",
        "deploy",
        name,
        "--gen2",
        f"--runtime={RUNTIME}",
        f"--region={region}",
        f"--project={project}",
        "--source=.",
        f"--entry-point={name}",
        f"--set-env-vars=FIREBASE_PROJECT_ID={project}",
    ]
    secrets = secrets_for(module)
    if secrets:
        pairs = ",".join(f"{env}={secret}:latest" for env, secret in sorted(secrets.items()))
        command.append(f"--set-secrets={pairs}")
    return command


def http_command(function: HttpFunction, project: str, region: str) -> list[str]:
    # Every endpoint authenticates its callers itself (Firebase ID token, service OIDC token or
    # provider signature), so the function is reachable through Hosting without IAM.
    return [
        *_common(function.name, function.module, project, region),
        "--trigger-http",
        "--allow-unauthenticated",
    ]


def trigger_command(function: TriggerFunction, project: str, region: str) -> list[str]:
    command = [
        *_common(function.name, function.module, project, region),
        f"--trigger-event-filters=type={function.event_type}",
        "--trigger-event-filters=database=(default)",
        f"--trigger-event-filters-path-pattern=document={function.document}",
        f"--trigger-location={region}",
    ]
    if function.retry:
        command.append("--retry")
    return command


def plan(project: str, region: str) -> list[list[str]]:
    commands = [bytecode.command()]
    commands += [http_command(f, project, region) for f in HTTP_FUNCTIONS]
    commands += [trigger_command(f, project, region) for f in TRIGGER_FUNCTIONS]
    commands.append(
        [
            "firebase",
            "deploy",
            f"--project={project}",
            "--only=firestore:rules,firestore:indexes,hosting",
        ]
    )
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", default="your-firebase-project")
    parser.add_argument("--region", default="us-central1")
    parser.add_argument("--execute", action="store_true", help="run the commands (default: print)")
    args = parser.parse_args(argv)
    commands = plan(args.project, args.region)
    for command in commands:
        print(shlex.join(command))
        if args.execute:
            subprocess.run(command, check=True)
    if not args.execute:
        print(f"# dry run: {len(commands)} commands; pass --execute (make deploy EXECUTE=1) to run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
