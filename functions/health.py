"""Health endpoints of both seeds: overall, readiness (Firestore answers), liveness."""

from __future__ import annotations

from functions.http import Call, Reply, endpoint
from shared.adapters.firestore_client import ping
from shared.log import get_logger

log = get_logger("health")
PING_TIMEOUT_SECONDS = 2.0


def _firestore_check(call: Call) -> str:
    try:
        ping(call.services.firestore, PING_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to answer means "not ready", never a 500
        log.warning("firestore check failed", extra={"error": type(exc).__name__})
        return "unavailable"
    return "ok"


@endpoint
def health(call: Call) -> Reply:
    settings = call.services.settings
    firestore = _firestore_check(call)
    status = "healthy" if firestore == "ok" else "degraded"
    return Reply(
        {
            "status": status,
            "service": settings.service_name,
            "version": settings.version,
            "checks": {"firestore": firestore},
        }
    )


@endpoint
def health_ready(call: Call) -> Reply:
    firestore = _firestore_check(call)
    ready = firestore == "ok"
    return Reply(
        {"status": "ready" if ready else "unavailable", "checks": {"firestore": firestore}},
        200 if ready else 503,
    )


@endpoint
def health_live(call: Call) -> Reply:
    return Reply({"status": "alive"})


@endpoint
def health_root(call: Call) -> Reply:
    return Reply({"status": "healthy", "service": call.services.settings.service_name})
