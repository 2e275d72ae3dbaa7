"""Cloud Scheduler, locally: call each registered scheduled job on its schedule (dev only).

For every job in ``functions.registry.SCHEDULED_JOBS`` it POSTs to the job's gateway path as Cloud
Scheduler does: an OIDC token of the scheduler's service account for the service's audience, an
empty JSON body, and Cloud Scheduler's headers. A job runs at the wall-clock multiples of its
interval, as cron does (``* * * * *`` every minute on the minute, ``*/5 * * * *`` every five);
``--every FUNCTION=SECONDS`` overrides one job's interval. Each run is one JSON line on stdout.

    python -m devstack.scheduler --gateway http://127.0.0.1:5001 --audience http://127.0.0.1:5001 \\
        --key .stack/service-identity-key.pem --email scheduler@demo-billing.iam.gserviceaccount.com
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devstack.service_tokens import ServiceTokenIssuer
from functions.registry import SCHEDULED_JOBS, ScheduledJob, http_function

OVERRIDE_PREFIX, OVERRIDE_SUFFIX = "DEV_SCHEDULE_", "_SECONDS"


def cron_interval_seconds(schedule: str) -> int:
    """Read the cron forms the registry uses (``* * * * *``, ``*/N * * * *``) as an interval."""
    fields = schedule.split()
    if len(fields) == 5 and fields[1:] == ["*"] * 4:
        minute = fields[0]
        if minute == "*":
            return 60
        step = int(minute[2:]) if minute.startswith("*/") and minute[2:].isdigit() else 0
        # Only steps that divide the hour keep cron's rhythm across the hour boundary.
        if 0 < step < 60 and 60 % step == 0:
            return step * 60
    raise ValueError(
        f"schedule {schedule!r}: the local scheduler knows '* * * * *' and '*/N * * * *' "
        "(N dividing 60); teach devstack.scheduler the new form"
    )


def override_variable(function: str) -> str:
    return f"{OVERRIDE_PREFIX}{function.upper()}{OVERRIDE_SUFFIX}"


def interval_overrides(environ: Mapping[str, str]) -> dict[str, float]:
    """Read ``DEV_SCHEDULE_<FUNCTION>_SECONDS`` for each scheduled job (function → seconds)."""
    known = {override_variable(job.function): job.function for job in SCHEDULED_JOBS}
    overrides = {}
    for name, value in environ.items():
        if not (name.startswith(OVERRIDE_PREFIX) and name.endswith(OVERRIDE_SUFFIX)):
            continue
        if name not in known:
            raise ValueError(f"{name}: no scheduled job of that name; one of {sorted(known)}")
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{name}={value!r}: a number of seconds above 0")
        overrides[known[name]] = seconds
    return overrides


def next_run(now: float, interval: float) -> float:
    """The next wall-clock multiple of ``interval`` strictly after ``now`` (cron's rhythm)."""
    return (math.floor(now / interval) + 1) * interval


@dataclass(frozen=True)
class Caller:
    """Calls the gateway as Cloud Scheduler calls a Cloud Run service."""

    gateway: str
    audience: str
    email: str
    issuer: ServiceTokenIssuer

    def run(self, job: ScheduledJob, scheduled_for: float) -> dict[str, object]:
        path = http_function(job.function).path
        request = urllib.request.Request(  # noqa: S310 - the local gateway's http URL
            f"{self.gateway}{path}",
            data=b"{}",
            method="POST",
            headers={
                "Authorization": f"Bearer {self.issuer.mint(self.email, self.audience)}",
                "Content-Type": "application/json",
                "User-Agent": "Google-Cloud-Scheduler",
                "X-CloudScheduler": "true",
                "X-CloudScheduler-JobName": job.function,
                "X-CloudScheduler-ScheduleTime": _iso(scheduled_for),
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                status, text = response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        except OSError as error:  # gateway down or too slow: Cloud Scheduler would retry later
            status, text = 0, repr(error)
        return {
            "time": _iso(time.time()),
            "job": job.function,
            "path": path,
            "status": status,
            "seconds": round(time.monotonic() - started, 3),
            "response": text[:500],
        }


def keep_schedule(caller: Caller, job: ScheduledJob, interval: float) -> None:
    """Run ``job`` at every multiple of ``interval``; a slow run skips the slots it overran."""
    while True:
        due = next_run(time.time(), interval)
        time.sleep(max(0.0, due - time.time()))
        print(json.dumps(caller.run(job, due)), flush=True)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def _override(text: str) -> tuple[str, float]:
    function, _, seconds = text.partition("=")
    return function, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--every", type=_override, action="append", default=[])
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()

    overrides = dict(args.every)
    caller = Caller(args.gateway, args.audience, args.email, ServiceTokenIssuer.load(args.key))
    for job in SCHEDULED_JOBS:
        interval = overrides.get(job.function) or cron_interval_seconds(job.schedule)
        print(f"{job.function} ({job.schedule}) every {interval:g} s", flush=True)
        threading.Thread(target=keep_schedule, args=(caller, job, interval), daemon=True).start()
    if args.ready_file:
        args.ready_file.touch()
    threading.Event().wait()  # until SIGTERM (the stack stopping, or its runner dying)


if __name__ == "__main__":
    main()
