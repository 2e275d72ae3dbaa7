"""Each scheduled pass (scheduler_fn.on_schedule) runs its HTTP endpoint's domain call."""

from __future__ import annotations

import flask
import pytest

from functions import scheduled
from functions.declarations import declare
from functions.registry import SCHEDULED_JOBS, ScheduledJob


def test_every_scheduled_job_has_its_pass() -> None:
    assert set(scheduled.PASSES) == {job.function for job in SCHEDULED_JOBS}


@pytest.mark.parametrize("job", SCHEDULED_JOBS, ids=[job.name for job in SCHEDULED_JOBS])
def test_cloud_schedulers_request_runs_the_pass_once(
    job: ScheduledJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(scheduled, "run_pass", ran.append)
    entry_point = declare(job.name)
    app = flask.Flask(__name__)
    headers = {"X-CloudScheduler-JobName": job.name}
    with app.test_request_context("/", method="POST", headers=headers):
        response = entry_point(flask.request)
    assert response.status_code == 200
    assert ran == [job.function]


def test_a_failing_pass_answers_500_so_cloud_scheduler_logs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(_function: str) -> None:
        raise RuntimeError("Firestore unavailable")

    monkeypatch.setattr(scheduled, "run_pass", fail)
    app = flask.Flask(__name__)
    with app.test_request_context("/", method="POST"):
        response = declare(SCHEDULED_JOBS[0].name)(flask.request)
    assert response.status_code == 500
