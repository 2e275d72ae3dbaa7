"""The registry is the one source of truth: firebase.json and main.py must agree with it."""

import json

import main
from devstack.firebase_json import FIREBASE_JSON, render
from devstack.gateway import werkzeug_rule
from functions.registry import (
    HTTP_FUNCTIONS,
    SCHEDULED_JOBS,
    TRIGGER_FUNCTIONS,
    hosting_rewrites,
    hosting_source,
    http_function,
)


def test_firebase_json_is_rendered_from_the_registry() -> None:
    committed = json.loads(FIREBASE_JSON.read_text())
    assert committed == render(), "run `make firebase-json` and commit firebase.json"


def test_hosting_rewrites_list_exactly_the_public_registry_routes() -> None:
    rewrites = json.loads(FIREBASE_JSON.read_text())["hosting"]["rewrites"]
    routed = sorted((r["source"], r["function"]["functionId"]) for r in rewrites)
    public = [f for f in HTTP_FUNCTIONS if f.auth != "service"]  # service endpoints are private
    registered = sorted((hosting_source(p), f.name) for f in public for p in f.paths)
    assert routed == registered
    assert len({source for source, _ in routed}) == len(routed), "a path routed twice"


def test_literal_paths_come_before_globs() -> None:
    sources = [str(r["source"]) for r in hosting_rewrites()]
    first_glob = next((i for i, s in enumerate(sources) if "*" in s), len(sources))
    assert all("*" not in s for s in sources[:first_glob])
    assert all("*" in s for s in sources[first_glob:])


def test_every_registered_function_is_an_entry_point_of_main() -> None:
    for function in HTTP_FUNCTIONS:
        assert callable(getattr(main, function.name)), function.name
    names = [f.name for f in HTTP_FUNCTIONS] + [t.name for t in TRIGGER_FUNCTIONS]
    names += [job.name for job in SCHEDULED_JOBS]
    assert sorted(main.__all__) == sorted(names)


def test_every_registered_trigger_is_an_entry_point_of_main() -> None:
    assert TRIGGER_FUNCTIONS, "the ledger triggers are registered"
    for trigger in TRIGGER_FUNCTIONS:
        assert callable(getattr(main, trigger.name)), trigger.name
        assert trigger.name in main.__all__
        assert trigger.event_type.startswith("google.cloud.firestore.document.v1.")
        assert "/" in trigger.document and trigger.document.endswith("}")


def test_scheduled_jobs_call_registered_service_endpoints() -> None:
    for job in SCHEDULED_JOBS:
        assert http_function(job.function).auth == "service"


def test_path_params_become_globs_and_rules() -> None:
    assert hosting_source("/api/v1/holds/{hold_id}/capture") == "/api/v1/holds/*/capture"
    assert werkzeug_rule("/api/payment/{payment_intent_id}") == "/api/payment/<payment_intent_id>"


def test_idempotency_records_expire_by_ttl() -> None:
    from devstack.stack import ROOT

    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())
    ttl = [o for o in indexes["fieldOverrides"] if o.get("ttl")]
    assert {(o["collectionGroup"], o["fieldPath"]) for o in ttl} >= {
        ("idempotency_keys", "expires_at")
    }
