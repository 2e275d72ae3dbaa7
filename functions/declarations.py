"""Every function declared with the Firebase Functions SDK, generated from the registry.

`firebase deploy` discovers a Python codebase by importing ``main.py`` and reading each function's
``__firebase_endpoint__``, the manifest entry the SDK's decorators attach
(``https_fn.on_request``, ``firestore_fn.on_document_*``, ``scheduler_fn.on_schedule``). So what
the CLI deploys (trigger, region, memory, cpu, concurrency, timeout, instances, invoker, secrets,
database) is read from here, and here it is read from the registry and the deploy environment.

The deploy environment is what ``ops.deploy`` writes to ``.env.<project>`` from
``deploy/<env>.toml``; Firebase sets those values on every deployed function, and we read the same
files when they are not in the process environment (discovery), so the declaration a function
carries at run time is the one the CLI deployed. Secrets are named, never valued: the functions'
secret names come from ``functions/function_secrets.json`` (``ops.function_secrets`` writes it
from what each function's code reads).

Importing this module imports no SDK: each declaration imports its own trigger kind's module on
first use, so a cold start pays only for its own function.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from functions.registry import (
    FIRESTORE_CREATED,
    HTTP_FUNCTIONS,
    SCHEDULED_JOBS,
    TRIGGER_FUNCTIONS,
    HttpFunction,
    Runtime,
    ScheduledJob,
    TriggerFunction,
)
from shared.access.auth import ServiceAccess

SOURCE = Path(__file__).resolve().parent.parent
SECRETS_FILE = Path(__file__).with_name("function_secrets.json")
DEFAULT_REGION = "us-central1"
# Firestore event types and the SDK decorator that declares each.
FIRESTORE_DECORATORS = {
    FIRESTORE_CREATED: "on_document_created",
    "google.cloud.firestore.document.v1.updated": "on_document_updated",
    "google.cloud.firestore.document.v1.deleted": "on_document_deleted",
    "google.cloud.firestore.document.v1.written": "on_document_written",
}


@dataclass(frozen=True)
class DeployTarget:
    """The environment-dependent half of every declaration: one region, one database, accounts."""

    region: str
    database: str
    access: ServiceAccess

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> DeployTarget:
        return cls(
            region=environ.get("BILLING_REGION", DEFAULT_REGION),
            database=environ.get("FIRESTORE_DATABASE", "(default)"),
            access=ServiceAccess.from_settings(
                environ.get("METERING_SERVICE_ACCOUNTS", ""),
                environ.get("SCHEDULER_SERVICE_ACCOUNTS", ""),
                {},
            ),
        )

    def invoker(self, function: HttpFunction) -> str | list[str]:
        """``public``, or exactly the role's accounts (``private``, owners only, when none)."""
        if not function.behind_iam or function.role is None:
            return "public"
        accounts = sorted(self.access.invokers(function.role))
        return accounts or "private"


def deploy_environment(source: Path = SOURCE) -> dict[str, str]:
    """The process environment over ``.env`` and ``.env.<project>`` (as Firebase layers them)."""
    project = os.environ.get("GCLOUD_PROJECT", "")
    values: dict[str, str] = {}
    for name in (".env", f".env.{project}" if project else ""):
        if name and (source / name).is_file():
            values |= read_dotenv((source / name).read_text())
    return values | dict(os.environ)


def read_dotenv(text: str) -> dict[str, str]:
    """``KEY=value`` and ``KEY='value'`` lines (what ``ops.deploy`` writes); # comments."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@cache
def function_secrets() -> dict[str, list[str]]:
    """Function name -> the Secret Manager secrets (by environment variable name) it reads."""
    secrets: dict[str, list[str]] = json.loads(SECRETS_FILE.read_text())
    return secrets


@cache
def target() -> DeployTarget:
    return DeployTarget.read(deploy_environment())


def runtime_options(name: str, runtime: Runtime, region: str) -> dict[str, Any]:
    """The SDK's RuntimeOptions of one function (every one set: no SDK default decides)."""
    from firebase_functions.options import MemoryOption

    return {
        "region": region,
        "memory": MemoryOption(runtime.memory_mb),
        "cpu": runtime.cpu,
        "concurrency": runtime.concurrency,
        "timeout_sec": runtime.timeout_sec,
        "min_instances": runtime.min_instances,
        "max_instances": runtime.max_instances,
        "secrets": function_secrets().get(name, []),
    }


def declare_http(function: HttpFunction, where: DeployTarget) -> Callable[..., Any]:
    from firebase_functions import https_fn

    handler = getattr(import_module(function.module), function.name)
    options = runtime_options(function.name, function.runtime, where.region)
    declared: Callable[..., Any] = https_fn.on_request(**options, invoker=where.invoker(function))(
        handler
    )
    return declared


def declare_trigger(function: TriggerFunction, where: DeployTarget) -> Callable[..., Any]:
    """Declare with ``firestore_fn``; run our own handler on the raw CloudEvent.

    The SDK's wrapper would decode each event into a DocumentSnapshot with a Firestore client of
    its own; our handlers decode the event's protobuf once (shared/adapters/firestore_events.py).
    So the SDK declares and our handler runs. firebase-functions 0.6.0 also writes ``retry:
    false`` into every Firestore trigger (options.FirestoreOptions._endpoint), whatever is asked;
    the registry's ``retry`` is set on the manifest entry the CLI deploys from.
    """
    from firebase_functions import firestore_fn

    handler: Callable[..., Any] = getattr(import_module(function.module), function.name)
    decorator = getattr(firestore_fn, FIRESTORE_DECORATORS[function.event_type])
    options = runtime_options(function.name, function.runtime, where.region)
    declared = decorator(**options, document=function.document, database=where.database)(handler)
    endpoint = declared.__firebase_endpoint__
    endpoint.eventTrigger["retry"] = function.retry
    handler.__firebase_endpoint__ = endpoint  # type: ignore[attr-defined]
    return handler


def declare_job(job: ScheduledJob, where: DeployTarget) -> Callable[..., Any]:
    from zoneinfo import ZoneInfo

    from firebase_functions import scheduler_fn

    def scheduled_pass(_event: Any) -> None:
        from functions.scheduled import run_pass

        run_pass(job.function)

    scheduled_pass.__name__ = scheduled_pass.__qualname__ = job.name
    scheduled_pass.__doc__ = job.summary
    options = runtime_options(job.function, job.runtime, where.region)
    declared: Callable[..., Any] = scheduler_fn.on_schedule(
        **options, schedule=job.schedule, timezone=ZoneInfo(job.time_zone)
    )(scheduled_pass)
    return declared


def entry_point_names() -> list[str]:
    return [
        *(f.name for f in HTTP_FUNCTIONS),
        *(f.name for f in TRIGGER_FUNCTIONS),
        *(j.name for j in SCHEDULED_JOBS),
    ]


def serving_entry_point(name: str) -> Callable[..., Any]:
    """What a deployed instance runs: the handler itself, where the SDK's wrapper adds nothing.

    The platform sets FUNCTION_TARGET on a deployed (or emulated) function; the declaration only
    matters to the CLI's discovery, which runs without it. ``https_fn.on_request`` wraps the
    handler in init hooks and CORS, neither of which we use, and importing the SDK for it costs
    every HTTP cold start ~240 ms of CPU (firebase_admin.auth, app_check, flask_cors). A trigger
    runs our handler either way; a scheduled pass needs the SDK's wrapper (the request becomes a
    ScheduledEvent), so it keeps it.
    """
    modules = {f.name: f.module for f in HTTP_FUNCTIONS}
    modules |= {t.name: t.module for t in TRIGGER_FUNCTIONS}
    if name not in modules:
        return declare(name)
    handler: Callable[..., Any] = getattr(import_module(modules[name]), name)
    return handler


def declare(name: str) -> Callable[..., Any]:
    """The SDK-declared entry point called ``name`` (an HTTP function, trigger or job)."""
    where = target()
    for function in HTTP_FUNCTIONS:
        if function.name == name:
            return declare_http(function, where)
    for trigger in TRIGGER_FUNCTIONS:
        if trigger.name == name:
            return declare_trigger(trigger, where)
    for job in SCHEDULED_JOBS:
        if job.name == name:
            return declare_job(job, where)
    raise KeyError(name)
