"""Deploy one environment with Firebase's own tooling: ``make deploy ENV=production``.

The functions are declared with the Firebase Functions SDK from the registry
(functions/declarations.py), so `firebase deploy` enables the APIs it needs, deploys the
functions in parallel, grants each its secrets, and creates the scheduler jobs and Eventarc
triggers. This plan only writes what the declarations read and runs the CLI in the right order:

1. ``.env.<project>``: the plain settings, the region, the database and the service accounts
   (Firebase sets them on every function; discovery reads them for the declarations);
   ``.firebase.<env>.json``: rules, indexes, functions and Hosting for this region and database;
2. bytecode compiled into the upload (``ops.bytecode``);
3. Firestore rules and indexes, then a wait until every composite index is READY: the expiry and
   reconcile passes query through them from their first scheduled run;
4. the web SDK's bundle (build output, not in git), then functions (scheduled passes and
   Firestore triggers with them) and Hosting (the portal, the rewrites);
5. the service audience on each private function (Cloud Run custom audiences, which the SDK cannot
   declare): callers mint ID tokens for one audience, as the code checks;
6. monitoring through the client libraries (``ops.monitoring``).

``make deploy-check ENV=...`` validates the configuration, refuses the example's placeholders,
and prints the one-time setup of a fresh project (``ops.setup``). Every command is one shell line,
printed as it is run; no secret value is ever read or printed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.firebase_json import firestore_config, functions_config
from functions.registry import HTTP_FUNCTIONS, hosting
from ops import bytecode
from ops.deploy_config import ConfigError, DeployConfig, load
from ops.settings_reach import ROOT

CONFIG_DIR = ROOT / "deploy"
SDK_BUILD = "make sdk"


@dataclass(frozen=True)
class Step:
    what: str  # the production resource it makes, for the printed plan
    line: str  # one shell line, printed and run as it is


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    files: dict[Path, str]  # written before any step runs

    def write_files(self) -> None:
        for path, text in self.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def service_name(function: str) -> str:
    """The Cloud Run service behind a gen2 function (lower case, hyphens)."""
    return function.lower().replace("_", "-")


def function_url(config: DeployConfig, function: str) -> str:
    return f"https://{config.region}-{config.project}.cloudfunctions.net/{function}"


def deploy_environment(config: DeployConfig) -> dict[str, str]:
    """What ``.env.<project>`` holds: plain values only (secrets are mounted by name)."""
    return {
        **config.settings,
        "BILLING_REGION": config.region,
        "FIRESTORE_DATABASE": config.firestore_database,
        # The code's allow-lists are the IAM invokers the declarations set: one source.
        "METERING_SERVICE_ACCOUNTS": ",".join(config.metering_accounts),
        "SCHEDULER_SERVICE_ACCOUNTS": config.scheduler_account,
    }


def dotenv(values: dict[str, str]) -> str:
    """Single-quoted values: Firebase's .env parser takes them literally (JSON included)."""
    for key, value in values.items():
        if "'" in value or "\n" in value:
            raise ConfigError([f"settings.{key}: a quote or newline cannot go into .env"])
    return "".join(f"{key}='{value}'\n" for key, value in sorted(values.items()))


def firebase_config(config: DeployConfig) -> dict[str, object]:
    """``firebase.json`` of this environment: its database's rules and indexes, its region."""
    return {
        "firestore": firestore_config(config.firestore_database),
        "functions": functions_config(),
        "hosting": hosting(config.region),
    }


def _firebase(config: DeployConfig, firebase_json: Path, only: str) -> str:
    return shlex.join(
        [
            "firebase",
            "deploy",
            f"--project={config.project}",
            # firebase resolves the paths in its configuration from the file's folder: the root.
            f"--config={firebase_json.name}",
            f"--only={only}",
            "--non-interactive",
        ]
    )


def _indexes_ready(config: DeployConfig) -> str:
    pending = shlex.join(
        [
            "gcloud",
            "firestore",
            "indexes",
            "composite",
            "list",
            f"--database={config.firestore_database}",
            f"--project={config.project}",
            "--filter=state!=READY",
            "--format=value(name)",
        ]
    )
    return f'while [ -n "$({pending})" ]; do echo "indexes building..."; sleep 30; done'


def _audience_steps(config: DeployConfig) -> list[Step]:
    audience = config.settings["SERVICE_AUDIENCE"]
    steps = []
    for function in HTTP_FUNCTIONS:
        if not function.behind_iam:
            continue
        line = shlex.join(
            [
                "gcloud",
                "run",
                "services",
                "update",
                service_name(function.name),
                f"--region={config.region}",
                f"--project={config.project}",
                f"--add-custom-audiences={audience}",
                "--quiet",
            ]
        )
        steps.append(Step(f"{function.name} accepts ID tokens for {audience}", line))
    return steps


def plan(config: DeployConfig) -> Plan:
    env_file = ROOT / f".env.{config.project}"
    firebase_json = ROOT / f".firebase.{config.name}.json"
    files = {
        env_file: dotenv(deploy_environment(config)),
        firebase_json: json.dumps(firebase_config(config), indent=2) + "\n",
    }
    steps = [
        Step("bytecode shipped with the source", shlex.join(bytecode.command())),
        Step(
            f"Firestore rules and indexes of database {config.firestore_database}",
            _firebase(config, firebase_json, "firestore:rules,firestore:indexes"),
        ),
        Step("every composite index READY before any scheduled pass", _indexes_ready(config)),
        # sdk/dist is build output, not in git: the portal loads the bundle (portal/sdk/ links to
        # it), so it is built from the lock file right before Hosting uploads the portal.
        Step("the web SDK bundle the portal loads (sdk/dist, from sdk/'s lock file)", SDK_BUILD),
        Step(
            "functions (HTTP, Firestore triggers, scheduled passes), then Hosting's rewrites",
            _firebase(config, firebase_json, "functions,hosting"),
        ),
        *_audience_steps(config),
        Step(
            "log-based metrics, dashboard, alert policies (client libraries)",
            shlex.join([sys.executable, "-m", "ops.monitoring", "--env", config.name, "--execute"]),
        ),
    ]
    return Plan(steps, files)


def config_path(env: str) -> Path:
    candidate = Path(env)
    return candidate if candidate.suffix == ".toml" else CONFIG_DIR / f"{env}.toml"


def main(argv: list[str] | None = None) -> int:
    from ops.setup import placeholders, setup_commands

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="example", help="deploy/<env>.toml, or a path to one")
    parser.add_argument("--execute", action="store_true", help="run the commands (default: print)")
    parser.add_argument("--check", action="store_true", help="validate; print one-time setup")
    args = parser.parse_args(argv)
    path = config_path(args.env)
    try:
        config = load(path)
        left = placeholders(config, load(config_path("example")))
        if left:
            raise ConfigError(left)
    except ConfigError as error:
        print(f"{path}: invalid deploy configuration:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    deploy = plan(config)
    if args.check:
        print(f"# {path}: valid; {len(deploy.steps)} deploy steps for project {config.project}")
        print("# One-time setup of a fresh project (run once, in order):")
        for step in setup_commands(config):
            print(f"# {step.what}\n{step.line}")
        return 0
    deploy.write_files()
    for step in deploy.steps:
        print(f"# {step.what}")
        print(step.line)
        if args.execute:
            subprocess.run(["/bin/bash", "-c", step.line], check=True, cwd=ROOT)
    if not args.execute:
        print(f"# dry run of {path}: {len(deploy.steps)} steps; EXECUTE=1 runs them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
