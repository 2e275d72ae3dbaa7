"""Reconciliation: service identity; Cloud Scheduler calls it every 5 min (SCHEDULED_JOBS)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.bootstrap import Services
from shared.purchases.reconciliation import ReconcilePolicy, ReconcileReport

# A year: far beyond the give-up age, and well inside what a timedelta can hold (the fuzz run
# found 4e17 seconds answering 500).
MAX_AGE_SECONDS = 366 * 24 * 3600


class ReconcileBody(BaseModel):
    """Optional overrides of the configured age and per-run limit (operators, tests)."""

    model_config = ConfigDict(extra="forbid")

    older_than_seconds: StrictInt | None = Field(default=None, ge=0, le=MAX_AGE_SECONDS)
    limit: StrictInt | None = Field(default=None, ge=1, le=500)


class OutcomeJson(TypedDict):
    kind: str
    id: str
    outcome: str


class ReportJson(TypedDict):
    checked: int
    outcomes: dict[str, int]  # how many of each outcome
    data: list[OutcomeJson]


def report_json(report: ReconcileReport) -> ReportJson:
    counts: dict[str, int] = {}
    for item in report.outcomes:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    return {
        "checked": len(report.outcomes),
        "outcomes": counts,
        "data": [{"kind": o.kind, "id": o.id, "outcome": o.outcome} for o in report.outcomes],
    }


@endpoint(body=ReconcileBody, response=ReportJson)
def reconcile(call: Call) -> Reply:
    body = call.body(ReconcileBody)
    policy = reconcile_policy(call.services, body.older_than_seconds, body.limit)
    return Reply(report_json(call.services.reconciler.run(policy)))


def reconcile_policy(
    services: Services, older_than: int | None = None, limit: int | None = None
) -> ReconcilePolicy:
    """The configured policy, with an operator's overrides of the age and per-run limit."""
    settings = services.settings
    return ReconcilePolicy(
        older_than=timedelta(
            seconds=settings.reconcile_after_seconds if older_than is None else older_than
        ),
        limit=limit or settings.reconcile_max_per_run,
        give_up_after=timedelta(seconds=settings.reconcile_give_up_seconds),
        backoff_cap=timedelta(seconds=settings.reconcile_backoff_cap_seconds),
    )
