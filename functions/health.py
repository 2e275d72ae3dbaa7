"""Health endpoints of both seeds: overall, readiness (Firestore answers), liveness."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.adapters.firestore_client import ping
from shared.log import get_logger

log = get_logger("health")
PING_TIMEOUT_SECONDS = 2.0
Check = Literal["ok", "unavailable"]


class Checks(TypedDict):
    firestore: Check


class HealthJson(TypedDict):
    status: Literal["healthy", "degraded"]
    service: str
    version: str
    checks: Checks


class ReadyJson(TypedDict):
    status: Literal["ready", "unavailable"]
    checks: Checks


class LiveJson(TypedDict):
    status: Literal["alive"]


class RootHealthJson(TypedDict):
    status: Literal["healthy"]
    service: str


def _firestore_check(call: Call) -> Check:
    try:
        ping(call.services.firestore, PING_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to answer means "not ready", never a 500
        log.warning("firestore check failed", extra={"error": type(exc).__name__})
        return "unavailable"
    return "ok"


@endpoint(response=HealthJson)
def health(call: Call) -> Reply:
    settings = call.services.settings
    firestore = _firestore_check(call)
    answer: HealthJson = {
        "status": "healthy" if firestore == "ok" else "degraded",
        "service": settings.service_name,
        "version": settings.version,
        "checks": {"firestore": firestore},
    }
    return Reply(answer)


@endpoint(response=ReadyJson)
def health_ready(call: Call) -> Reply:
    firestore = _firestore_check(call)
    ready = firestore == "ok"
    answer: ReadyJson = {
        "status": "ready" if ready else "unavailable",
        "checks": {"firestore": firestore},
    }
    return Reply(answer, 200 if ready else 503)


@endpoint(response=LiveJson)
def health_live(call: Call) -> Reply:
    answer: LiveJson = {"status": "alive"}
    return Reply(answer)


@endpoint(response=RootHealthJson)
def health_root(call: Call) -> Reply:
    answer: RootHealthJson = {"status": "healthy", "service": call.services.settings.service_name}
    return Reply(answer)
