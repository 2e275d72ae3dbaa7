"""Reconciliation: service identity; Cloud Scheduler calls it every 5 min (SCHEDULED_JOBS)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from functions.http import Call, Reply, endpoint
from shared.reconciliation import ReconcilePolicy


class ReconcileBody(BaseModel):
    """Optional overrides of the configured age and per-run limit (operators, tests)."""

    model_config = ConfigDict(extra="forbid")

    older_than_seconds: StrictInt | None = Field(default=None, ge=0)
    limit: StrictInt | None = Field(default=None, ge=1, le=500)


@endpoint(body=ReconcileBody)
def reconcile(call: Call) -> Reply:
    body = call.body(ReconcileBody)
    settings = call.services.settings
    older_than = body.older_than_seconds
    policy = ReconcilePolicy(
        older_than=timedelta(
            seconds=settings.reconcile_after_seconds if older_than is None else older_than
        ),
        limit=body.limit or settings.reconcile_max_per_run,
        give_up_after=timedelta(seconds=settings.reconcile_give_up_seconds),
        backoff_cap=timedelta(seconds=settings.reconcile_backoff_cap_seconds),
    )
    return Reply(call.services.reconciler.run(policy).to_json())
