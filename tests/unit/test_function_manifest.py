"""What `firebase deploy` will deploy, read the way the Firebase CLI reads it.

The CLI's discovery runs the SDK's admin server in the source folder: it imports ``main.py``,
lists its functions with ``inspect.getmembers`` and serves their ``__firebase_endpoint__`` as
``/__/functions.yaml``. We run the SDK's own code for it (``serving.get_functions`` and
``functions_as_yaml``) in a fresh process with a production-like deploy environment, and check
the manifest against the registry. ``/work/shared/tools/firebase-check`` runs the CLI itself.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Any

import pytest

from devstack.stack import ROOT
from functions.declarations import FIRESTORE_DECORATORS, function_secrets
from functions.registry import (
    HTTP_FUNCTIONS,
    SCHEDULED_JOBS,
    TRIGGER_FUNCTIONS,
    HttpFunction,
    Runtime,
)
from ops.deploy_config import SECRET_FIELDS
from ops.function_secrets import render
from shared.access.auth import ServiceRole

REGION = "asia-south1"
DATABASE = "billing-prod"
METERING = ("ai@acme-prod.iam.gserviceaccount.com", "metering@acme-prod.iam.gserviceaccount.com")
SCHEDULER = "billing-scheduler@acme-prod.iam.gserviceaccount.com"
# Secret values present in the discovering process: none may reach the manifest.
CANARIES = {name.upper(): f"canary-{name}-value" for name in SECRET_FIELDS}
DISCOVER = """
import json, yaml
from firebase_functions.private import serving
print(json.dumps(yaml.safe_load(serving.functions_as_yaml(serving.get_functions()))))
"""


@pytest.fixture(scope="module")
def discovery() -> tuple[str, float]:
    env = {
        **os.environ,
        **CANARIES,
        "BILLING_REGION": REGION,
        "FIRESTORE_DATABASE": DATABASE,
        "METERING_SERVICE_ACCOUNTS": ",".join(reversed(METERING)),
        "SCHEDULER_SERVICE_ACCOUNTS": SCHEDULER,
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-c", DISCOVER],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds, not wall time: the same on a busy machine as on the CLI's idle one.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result.stdout, cpu


@pytest.fixture(scope="module")
def endpoints(discovery: tuple[str, float]) -> dict[str, dict[str, Any]]:
    manifest = json.loads(discovery[0])
    found: dict[str, dict[str, Any]] = manifest["endpoints"]
    return found


def options_of(runtime: Runtime) -> dict[str, Any]:
    return {
        "region": [REGION],
        "platform": "gcfv2",
        "availableMemoryMb": runtime.memory_mb,
        "cpu": runtime.cpu,
        "concurrency": runtime.concurrency,
        "timeoutSeconds": runtime.timeout_sec,
        "minInstances": runtime.min_instances,
        "maxInstances": runtime.max_instances,
    }


def invoker_of(function: HttpFunction) -> list[str]:
    if function.role is ServiceRole.METERING:
        return sorted(METERING)
    if function.role is ServiceRole.SCHEDULER:
        return [SCHEDULER]
    return ["public"]


def test_discovery_finds_every_registered_function_and_nothing_else(
    endpoints: dict[str, dict[str, Any]],
) -> None:
    names = [f.name for f in HTTP_FUNCTIONS] + [f.name for f in TRIGGER_FUNCTIONS]
    names += [job.name for job in SCHEDULED_JOBS]
    assert sorted(endpoints) == sorted(names)
    assert all(endpoints[name]["entryPoint"] == name for name in names)


def test_discovery_imports_main_well_within_the_clis_10_seconds(
    discovery: tuple[str, float],
) -> None:
    assert discovery[1] < 5, "the CLI gives main.py 10 s to import every declaration"


def test_http_functions_are_public_or_invoked_by_exactly_their_roles_accounts(
    endpoints: dict[str, dict[str, Any]],
) -> None:
    for function in HTTP_FUNCTIONS:
        endpoint = endpoints[function.name]
        assert endpoint["httpsTrigger"] == {"invoker": invoker_of(function)}, function.name
        assert endpoint.items() >= options_of(function.runtime).items(), function.name


def test_triggers_listen_on_their_document_in_the_configured_database_with_retries(
    endpoints: dict[str, dict[str, Any]],
) -> None:
    for trigger in TRIGGER_FUNCTIONS:
        endpoint = endpoints[trigger.name]
        assert trigger.event_type in FIRESTORE_DECORATORS
        assert endpoint["eventTrigger"] == {
            "eventType": trigger.event_type,
            "eventFilters": {"database": DATABASE, "namespace": "(default)"},
            "eventFilterPathPatterns": {"document": trigger.document},
            "retry": trigger.retry,
        }, trigger.name
        assert endpoint.items() >= options_of(trigger.runtime).items(), trigger.name


def test_scheduled_passes_run_on_their_schedule(endpoints: dict[str, dict[str, Any]]) -> None:
    for job in SCHEDULED_JOBS:
        endpoint = endpoints[job.name]
        trigger = endpoint["scheduleTrigger"]
        assert (trigger["schedule"], trigger["timeZone"]) == (job.schedule, job.time_zone)
        assert endpoint.items() >= options_of(job.runtime).items(), job.name
        assert endpoint["timeoutSeconds"] >= 300, "a pass pages through every due account"


def test_each_function_mounts_exactly_the_secrets_its_code_reads_by_name(
    endpoints: dict[str, dict[str, Any]], discovery: tuple[str, float]
) -> None:
    secrets = function_secrets()
    for name, endpoint in endpoints.items():
        mounted = endpoint["secretEnvironmentVariables"]
        assert all(set(secret) == {"key"} for secret in mounted), name
        assert [s["key"] for s in mounted] == secrets[name], name
    assert not [value for value in CANARIES.values() if value in discovery[0]]


def test_concurrency_above_one_has_a_whole_cpu(endpoints: dict[str, dict[str, Any]]) -> None:
    for name, endpoint in endpoints.items():
        assert endpoint["concurrency"] == 1 or endpoint["cpu"] >= 1, name


def test_the_committed_secret_list_is_what_the_code_reads() -> None:
    committed = (ROOT / "functions" / "function_secrets.json").read_text()
    assert committed == render(), "run `python -m ops.function_secrets` and commit the file"
