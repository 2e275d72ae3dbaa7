"""Deploy plan from the registry and one environment's configuration.

``make deploy ENV=production`` prints the plan (``deploy/production.toml``); ``EXECUTE=1`` runs it.
In order: compile the source to bytecode (``ops.bytecode``); one ``gcloud functions deploy`` per
registered function, each with exactly the settings it reads (``ops.settings_reach``: plain values
from an env-vars file, secrets from Secret Manager by name) — service endpoints private, with
``roles/run.invoker`` for exactly their callers and the service audience accepted; one Cloud
Scheduler job per scheduled job, created or updated; then ``firebase deploy`` of rules, indexes
and TTL policies (``firestore.indexes.json`` fieldOverrides) and the public hosting rewrites in
the configured region; last, monitoring (``ops.metrics``): the log-based metrics, the dashboard
(``ops/dashboard.json``) and the alert policies, each created or updated in place.

Every command is one shell line, printed as it is run. No secret value is ever read or printed:
the plan names Secret Manager secrets only. The files the commands read (env-vars, IAM policies,
the hosting configuration) are written under ``.deploy/<env>/``, so a dry run can be inspected.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from functions.registry import (
    HTTP_FUNCTIONS,
    SCHEDULED_JOBS,
    TRIGGER_FUNCTIONS,
    Auth,
    HttpFunction,
    ScheduledJob,
    TriggerFunction,
    hosting,
    http_function,
)
from ops import bytecode
from ops.deploy_config import ConfigError, DeployConfig, load
from ops.metrics import ALERTS, DASHBOARD, METRICS
from ops.settings_reach import ROOT, settings_read_by_function, settings_read_by_http_function
from shared.access.auth import ServiceRole

RUNTIME = "python311"
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


def invokers(config: DeployConfig, function: HttpFunction) -> tuple[str, ...]:
    """Who may call a private endpoint: the accounts of its role (the registry says which)."""
    if function.role is ServiceRole.SCHEDULER:
        return (config.scheduler_account,)
    return config.metering_accounts


def settings_of(
    config: DeployConfig, fields: frozenset[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The plain values and the secrets of ``fields``, as the configuration gives them."""
    names = {f.upper() for f in fields}
    env = {"FIREBASE_PROJECT_ID": config.project}
    env |= {k: v for k, v in config.settings.items() if k in names}
    env |= _allow_lists(config, names)
    secrets = {k: v for k, v in config.secrets.items() if k in names}
    return env, secrets


def _allow_lists(config: DeployConfig, names: set[str]) -> dict[str, str]:
    # The service's own allow-lists (checked in code) are the IAM invokers of each role.
    lists = {
        "METERING_SERVICE_ACCOUNTS": ",".join(config.metering_accounts),
        "SCHEDULER_SERVICE_ACCOUNTS": config.scheduler_account,
    }
    return {name: value for name, value in lists.items() if name in names}


def _yaml(env: dict[str, str]) -> str:
    # JSON strings are valid YAML scalars: every value stays a string, quoting is exact.
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in sorted(env.items()))


def _deploy(name: str, config: DeployConfig, env_file: Path, secrets: dict[str, str]) -> list[str]:
    command = [
        "gcloud",
        "functions",
        "deploy",
        name,
        "--gen2",
        f"--runtime={RUNTIME}",
        f"--region={config.region}",
        f"--project={config.project}",
        "--source=.",
        f"--entry-point={name}",
        # The whole environment comes from the plan: a value set by hand is replaced.
        f"--env-vars-file={env_file.relative_to(ROOT)}",
    ]
    if secrets:
        pairs = ",".join(f"{env}={secret}:latest" for env, secret in sorted(secrets.items()))
        command.append(f"--set-secrets={pairs}")
    return command


def _http_steps(
    config: DeployConfig, function: HttpFunction, out: Path, files: dict[Path, str]
) -> list[Step]:
    read = settings_read_by_http_function(function.module, function.name)
    env, secrets = settings_of(config, read)
    env_file = out / "env" / f"{function.name}.yaml"
    files[env_file] = _yaml(env)
    private = function.auth is Auth.SERVICE
    command = [
        *_deploy(function.name, config, env_file, secrets),
        "--trigger-http",
        "--no-allow-unauthenticated" if private else "--allow-unauthenticated",
        "--quiet",
    ]
    access = "private" if private else "public"
    steps = [Step(f"Cloud Run function {function.name} ({access})", shlex.join(command))]
    if private:
        policy = out / "iam" / f"{function.name}.json"
        members = sorted(f"serviceAccount:{a}" for a in invokers(config, function))
        files[policy] = json.dumps(
            {"bindings": [{"role": "roles/run.invoker", "members": members}]}, indent=2
        )
        where = [f"--region={config.region}", f"--project={config.project}"]
        service = service_name(function.name)
        set_policy = ["gcloud", "run", "services", "set-iam-policy", service]
        audience = ["gcloud", "run", "services", "update", service]
        steps += [
            Step(
                f"invokers of {function.name}: exactly {', '.join(members)}",
                shlex.join([*set_policy, str(policy.relative_to(ROOT)), *where, "--quiet"]),
            ),
            Step(
                f"{function.name} accepts ID tokens for the service audience",
                shlex.join(
                    [*audience, *where, f"--add-custom-audiences={_audience(config)}", "--quiet"]
                ),
            ),
        ]
    return steps


def _audience(config: DeployConfig) -> str:
    return config.settings["SERVICE_AUDIENCE"]


def _trigger_step(
    config: DeployConfig, function: TriggerFunction, out: Path, files: dict[Path, str]
) -> Step:
    read = settings_read_by_function(function.module, function.name)
    env, secrets = settings_of(config, read)
    env_file = out / "env" / f"{function.name}.yaml"
    files[env_file] = _yaml(env)
    command = [
        *_deploy(function.name, config, env_file, secrets),
        f"--trigger-event-filters=type={function.event_type}",
        "--trigger-event-filters=database=(default)",
        f"--trigger-event-filters-path-pattern=document={function.document}",
        f"--trigger-location={config.firestore_location}",
        "--quiet",
    ]
    if function.retry:
        command.append("--retry")
    return Step(f"Eventarc Firestore trigger {function.name}", shlex.join(command))


def _scheduler_step(config: DeployConfig, job: ScheduledJob) -> Step:
    function = http_function(job.function)
    where = [f"--location={config.region}", f"--project={config.project}"]
    shared = [
        *where,
        f"--schedule={job.schedule}",
        f"--time-zone={job.time_zone}",
        f"--uri={function_url(config, job.function)}{function.path}",
        "--http-method=POST",
        "--message-body={}",
        f"--oidc-service-account-email={config.scheduler_account}",
        f"--oidc-token-audience={_audience(config)}",
        "--quiet",
    ]
    jobs = ["gcloud", "scheduler", "jobs"]
    describe = shlex.join([*jobs, "describe", job.function, *where])
    update = shlex.join(
        [
            *jobs,
            "update",
            "http",
            job.function,
            *shared,
            "--update-headers=Content-Type=application/json",
        ]
    )
    create = shlex.join(
        [*jobs, "create", "http", job.function, *shared, "--headers=Content-Type=application/json"]
    )
    line = _create_or_update(describe, update, create)
    return Step(f"Cloud Scheduler job {job.function} ({job.schedule}): {job.summary}", line)


def _create_or_update(exists: str, update: str, create: str) -> str:
    # Re-running the deploy updates what is there instead of failing on "already exists".
    return f"if {exists} >/dev/null 2>&1; then {update}; else {create}; fi"


def _monitoring_steps(config: DeployConfig, out: Path, files: dict[Path, str]) -> list[Step]:
    """Log-based metrics first (the dashboard and the alerts chart and watch them)."""
    project = f"--project={config.project}"
    steps = []
    for metric in METRICS:
        path = out / "metrics" / f"{metric.name}.json"
        files[path] = json.dumps(metric.log_metric(), indent=2) + "\n"
        source = f"--config-from-file={path.relative_to(ROOT)}"
        command = ["gcloud", "logging", "metrics"]
        line = _create_or_update(
            shlex.join([*command, "describe", metric.name, project]),
            shlex.join([*command, "update", metric.name, source, project]),
            shlex.join([*command, "create", metric.name, source, project]),
        )
        steps.append(Step(f"log-based metric {metric.name}: {metric.description}", line))
    # The dashboard's id is fixed, so the deploy finds and replaces it.
    name = f"projects/{config.project}/dashboards/billing-service"
    dashboard = out / "dashboard.json"
    files[dashboard] = json.dumps({"name": name, **json.loads(DASHBOARD.read_text())}, indent=2)
    source = f"--config-from-file={dashboard.relative_to(ROOT)}"
    command = ["gcloud", "monitoring", "dashboards"]
    line = _create_or_update(
        shlex.join([*command, "describe", name, project]),
        shlex.join([*command, "update", name, source, project]),
        shlex.join([*command, "create", source, project]),
    )
    steps.append(Step("Cloud Monitoring dashboard billing-service", line))
    for alert in ALERTS:
        path = out / "alerts" / f"{alert.id}.json"
        policy = alert.policy(config.notification_channels)
        files[path] = json.dumps(policy, indent=2) + "\n"
        source = f"--policy-from-file={path.relative_to(ROOT)}"
        command = ["gcloud", "monitoring", "policies"]
        # Policies get server-made ids: find this one by its display name.
        find = shlex.join(
            [
                *command,
                "list",
                f"--filter=displayName={json.dumps(policy['displayName'])}",
                "--format=value(name)",
                "--limit=1",
                project,
            ]
        )
        line = (
            f'POLICY=$({find}); if [ -n "$POLICY" ]; then '
            f'{shlex.join([*command, "update"])} "$POLICY" {source} {project}; '
            f"else {shlex.join([*command, 'create', source, project])}; fi"
        )
        channels = ", ".join(config.notification_channels)
        steps.append(Step(f"alert policy {policy['displayName']} (pages {channels})", line))
    return steps


def hosting_config(region: str) -> dict[str, object]:
    """``firebase.json`` for a deploy: rules, indexes, the portal and the public endpoints in
    ``region``."""
    return {
        "firestore": {"rules": "firestore.rules", "indexes": "firestore.indexes.json"},
        "hosting": hosting(region),
    }


def plan(config: DeployConfig) -> Plan:
    out = ROOT / ".deploy" / config.name
    files: dict[Path, str] = {}
    steps = [Step("bytecode shipped with the source", shlex.join(bytecode.command()))]
    for function in HTTP_FUNCTIONS:
        steps += _http_steps(config, function, out, files)
    steps += [_trigger_step(config, f, out, files) for f in TRIGGER_FUNCTIONS]
    steps += [_scheduler_step(config, job) for job in SCHEDULED_JOBS]
    # firebase resolves the paths in its configuration from the file's folder: keep it at the root.
    hosting = ROOT / f".firebase.{config.name}.json"
    files[hosting] = json.dumps(hosting_config(config.region), indent=2) + "\n"
    firebase = [
        "firebase",
        "deploy",
        f"--project={config.project}",
        f"--config={hosting.name}",
        "--only=firestore:rules,firestore:indexes,hosting",
        "--non-interactive",
    ]
    # sdk/dist is build output, not in git: the portal loads the bundle (portal/sdk/ links to it),
    # so it is built from the lock file right before Hosting uploads the portal.
    sdk = "the web SDK bundle the portal loads (sdk/dist, from sdk/'s lock file)"
    steps.append(Step(sdk, SDK_BUILD))
    what = "Firestore rules, indexes and TTL policies (fieldOverrides), Hosting: portal, rewrites"
    steps.append(Step(what, shlex.join(firebase)))
    steps += _monitoring_steps(config, out, files)
    return Plan(steps, files)


def config_path(env: str) -> Path:
    candidate = Path(env)
    return candidate if candidate.suffix == ".toml" else CONFIG_DIR / f"{env}.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="example", help="deploy/<env>.toml, or a path to one")
    parser.add_argument("--execute", action="store_true", help="run the commands (default: print)")
    parser.add_argument("--check", action="store_true", help="only validate the configuration")
    args = parser.parse_args(argv)
    path = config_path(args.env)
    try:
        config = load(path)
    except ConfigError as error:
        print(f"{path}: invalid deploy configuration:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    deploy = plan(config)
    if args.check:
        print(f"{path}: valid; {len(deploy.steps)} deploy steps for project {config.project}")
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
