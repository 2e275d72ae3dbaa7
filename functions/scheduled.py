"""Cloud Scheduler's passes (registry SCHEDULED_JOBS), run by ``scheduler_fn.on_schedule``.

Each runs the same domain call as its private HTTP endpoint (which stays, for operators and the
local scheduler); the scheduled function logs what the pass did instead of answering it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.bootstrap import Services, services
from shared.log import get_logger

log = get_logger("scheduled")


def _expire_holds(svc: Services) -> object:
    from shared.usage.holds import expire_due_holds

    return {"expired": expire_due_holds(svc.ledger, svc.holds, datetime.now(UTC))}


def _expire_grants(svc: Services) -> object:
    from shared.ledger.expiry import expire_due_grants

    return {"accounts": expire_due_grants(svc.ledger, datetime.now(UTC))}


def _reconcile(svc: Services) -> object:
    from functions.reconcile import reconcile_policy, report_json

    report = report_json(svc.reconciler.run(reconcile_policy(svc)))
    return {"checked": report["checked"], "outcomes": report["outcomes"]}


PASSES: dict[str, Callable[[Services], object]] = {
    "holds_expire": _expire_holds,
    "grants_expire": _expire_grants,
    "reconcile": _reconcile,
}


def run_pass(function: str) -> None:
    """Run the pass of the registered HTTP function ``function`` once, and log its outcome."""
    outcome = PASSES[function](services())
    log.info("scheduled pass done", extra={"pass": function, "outcome": outcome})
