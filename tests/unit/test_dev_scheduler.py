"""The local stack's stand-in for Cloud Scheduler: the registry's schedules, read as intervals."""

from __future__ import annotations

import pytest

from devstack.scheduler import cron_interval_seconds, interval_overrides, next_run
from functions.registry import SCHEDULED_JOBS


def test_every_registered_schedule_is_understood_by_the_local_scheduler() -> None:
    intervals = {job.function: cron_interval_seconds(job.schedule) for job in SCHEDULED_JOBS}
    assert intervals == {"holds_expire": 60, "reconcile": 300, "grants_expire": 300}


@pytest.mark.parametrize("schedule", ["0 * * * *", "*/7 * * * *", "* 1 * * *", "*/5 * *", "x"])
def test_a_schedule_the_local_scheduler_cannot_keep_is_refused_by_name(schedule: str) -> None:
    with pytest.raises(ValueError, match="schedule"):
        cron_interval_seconds(schedule)


def test_runs_fall_on_the_wall_clock_multiples_of_the_interval_as_cron_does() -> None:
    assert next_run(now=1_000_030.5, interval=60) == 1_000_080
    assert next_run(now=1_000_080, interval=60) == 1_000_140
    assert next_run(now=7.9, interval=2) == 8


def test_schedules_are_overridden_per_job_from_the_environment() -> None:
    environ = {"DEV_SCHEDULE_HOLDS_EXPIRE_SECONDS": "2", "DEV_SCHEDULE_RECONCILE_SECONDS": "0.5"}
    assert interval_overrides(environ) == {"holds_expire": 2.0, "reconcile": 0.5}
    assert interval_overrides({"UNRELATED": "1"}) == {}


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_a_bad_schedule_override_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="DEV_SCHEDULE_RECONCILE_SECONDS"):
        interval_overrides({"DEV_SCHEDULE_RECONCILE_SECONDS": value})


def test_an_override_for_a_job_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="DEV_SCHEDULE_HOLD_EXPIRY_SECONDS"):
        interval_overrides({"DEV_SCHEDULE_HOLD_EXPIRY_SECONDS": "2"})
