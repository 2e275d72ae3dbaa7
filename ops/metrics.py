"""What production measures and when it pages: log-based metrics and alert policies.

Every figure is counted by Cloud Logging from a line the service writes anyway (``shared.log``:
one JSON line per event), so monitoring costs no function anything, at cold start or per
request. One list (``METRICS``) drives the deploy (``ops.monitoring``, client libraries), the
dashboard (``ops/dashboard.json`` charts each one), the alert policies (``ALERTS``), the test
that every filter matches what the end-to-end suite really logged, and ``make metrics``, which
prints the same figures from the local stack's logs:

    python -m ops.metrics [--logs .stack]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.log_filter import matches, payload_value, payloads

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "ops" / "dashboard.json"
USER_METRIC = "logging.googleapis.com/user/"
# Gen-2 functions log, and their log-based metrics count, as Cloud Run revisions; Monitoring
# refuses a threshold filter without the monitored resource type.
RESOURCE = 'resource.type="cloud_run_revision"'


@dataclass(frozen=True)
class Metric:
    """One log-based metric: the lines it counts and the fields it reads from them."""

    name: str
    description: str
    logger: str  # shared.log's logger of the module that writes the line
    message: str
    labels: Mapping[str, str] = field(default_factory=dict)  # label -> string field
    nullable: frozenset[str] = frozenset()  # label fields that may be null (empty label)
    value: str | None = None  # a distribution's numeric field; None counts lines
    unit: str = "1"
    # A signed twin of ``value`` that local sums use: the distribution buckets magnitudes (Cloud
    # Logging's exponential buckets start at 0), but a sum of magnitudes over an entry type that
    # goes both ways (an admin adjustment) would be wrong.
    signed: str | None = None

    @property
    def type(self) -> str:
        return USER_METRIC + self.name

    @property
    def filter(self) -> str:
        return f'jsonPayload.logger="{self.logger}" AND jsonPayload.message="{self.message}"'

    @property
    def deployed_filter(self) -> str:
        """The filter in Cloud Logging: our lines, from the functions' Cloud Run revisions."""
        return f"{RESOURCE} AND {self.filter}"

    def matches(self, payload: Mapping[str, Any]) -> bool:
        return matches(self.filter, payload)

    def problems(self, payload: Mapping[str, Any]) -> list[str]:
        """What a matching line lacks: a label field that is not a string, a value not a number."""
        found = []
        for field_name in self.labels.values():
            value = payload_value(payload, [field_name])
            if not isinstance(value, str) and not (value is None and field_name in self.nullable):
                found.append(f"{field_name}={value!r} is not a string")
        if self.value is not None:
            value = payload_value(payload, [self.value])
            if isinstance(value, bool) or not isinstance(value, int | float):
                found.append(f"{self.value}={value!r} is not a number")
        if self.signed is not None:
            value = payload_value(payload, [self.signed])
            if isinstance(value, bool) or not isinstance(value, int):
                found.append(f"{self.signed}={value!r} is not a number")
        return found

    def log_metric(self) -> dict[str, Any]:
        """The LogMetric resource, in the API's JSON (ops.monitoring builds its message)."""
        descriptor: dict[str, Any] = {
            "metricKind": "DELTA",
            "valueType": "INT64" if self.value is None else "DISTRIBUTION",
            "unit": self.unit,
            "labels": [
                {"key": label, "valueType": "STRING", "description": f"jsonPayload.{source}"}
                for label, source in self.labels.items()
            ],
        }
        metric: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "filter": self.deployed_filter,
            "metricDescriptor": descriptor,
            "labelExtractors": {
                label: f"EXTRACT(jsonPayload.{source})" for label, source in self.labels.items()
            },
        }
        if self.value is not None:
            metric["valueExtractor"] = f"EXTRACT(jsonPayload.{self.value})"
            # 1, 2, 4, ... 2^23: milliseconds up to ~2 h, credit units up to 83,886 credits.
            metric["bucketOptions"] = {
                "exponentialBuckets": {"numFiniteBuckets": 24, "growthFactor": 2, "scale": 1}
            }
        return metric


METRICS = (
    Metric(
        "billing_requests",
        "HTTP requests by function, status class and error code",
        "billing.http",
        "request",
        {"function": "function", "status_class": "status_class", "error_code": "error_code"},
        nullable=frozenset({"error_code"}),
    ),
    Metric(
        "billing_request_latency",
        "Time from request to response inside the function, by function",
        "billing.http",
        "request",
        {"function": "function"},
        value="latency_ms",
        unit="ms",
    ),
    Metric(
        "billing_payments",
        "Payment outcomes: card payments (succeeded, failed, canceled) and credit purchases "
        "(succeeded = credits granted, failed), by provider",
        "billing.payments",
        "payment outcome",
        {"kind": "kind", "provider": "provider", "outcome": "outcome"},
    ),
    Metric(
        "billing_second_payments",
        "Captured payments of a credit order another payment already paid: money owed back "
        "(the admin order view lists them; refund each through the order's refund endpoint)",
        "billing.payments",
        "second payment needs a refund",
        {"provider": "provider"},
    ),
    Metric(
        "billing_credits",
        "Credit units moved by each ledger entry written, by entry type and service",
        "billing.ledger",
        "ledger entry",
        {"entry_type": "entry_type", "service": "service"},
        nullable=frozenset({"service"}),
        value="credits",
        signed="amount",
    ),
    Metric(
        "billing_webhook_signature_failures",
        "Webhooks refused for a bad signature, by provider",
        "billing.webhooks",
        "webhook signature invalid",
        {"provider": "provider"},
    ),
    Metric(
        "billing_ledger_contention",
        "Balance changes refused with 503 after every retry lost the race for the next entry",
        "billing.ledger",
        "ledger contention",
    ),
    Metric(
        "billing_outbox_parked",
        "Notifications to the event service parked after their last failed attempt, by type",
        "billing.outbox",
        "notification parked",
        {"type": "type"},
    ),
    Metric(
        "billing_reconciliation",
        "Items reconciliation looked at, by kind and outcome (granted, failed, gave_up, ...)",
        "billing.reconciliation",
        "reconciliation item",
        {"kind": "kind", "outcome": "outcome"},
    ),
    Metric(
        "billing_low_balance_alerts",
        "Low-balance alerts raised (one per crossing below an account's threshold)",
        "billing.triggers",
        "low balance alert",
    ),
)
BY_NAME = {metric.name: metric for metric in METRICS}


@dataclass(frozen=True)
class Alert:
    """An alert policy on one metric: over (or under) ``threshold`` within ``window_s``."""

    id: str
    title: str
    metric: str
    threshold: float
    window_s: int
    why: str  # the policy's documentation: what it means and what to do
    where: str = ""  # a Monitoring filter on the metric's labels
    # A ratio: the metric's ``where`` lines over all its lines (``denominator`` narrows those).
    ratio: bool = False
    denominator: str = ""
    below: bool = False

    def condition(self) -> dict[str, Any]:
        def series(where: str) -> str:
            text = f'metric.type="{BY_NAME[self.metric].type}" AND {RESOURCE}'
            return f"{text} AND {where}" if where else text

        window = {
            "alignmentPeriod": f"{self.window_s}s",
            "perSeriesAligner": "ALIGN_DELTA",
            "crossSeriesReducer": "REDUCE_SUM",
        }
        threshold: dict[str, Any] = {
            "filter": series(self.where),
            "aggregations": [window],
            "comparison": "COMPARISON_LT" if self.below else "COMPARISON_GT",
            "thresholdValue": self.threshold,
            "duration": "0s",
            "trigger": {"count": 1},
        }
        if self.ratio:
            threshold["denominatorFilter"] = series(self.denominator)
            threshold["denominatorAggregations"] = [window]
        return {"displayName": self.title, "conditionThreshold": threshold}

    def policy(self, channels: Iterable[str]) -> dict[str, Any]:
        """The AlertPolicy resource, in the API's JSON (ops.monitoring builds its message)."""
        return {
            "displayName": f"billing: {self.title}",
            "documentation": {"content": self.why, "mimeType": "text/markdown"},
            "userLabels": {"service": "billing", "alert": self.id.replace("_", "-")},
            "combiner": "OR",
            "conditions": [self.condition()],
            "notificationChannels": sorted(channels),
            "enabled": True,
        }


ALERTS = (
    Alert(
        "server_errors",
        "5xx above 2 % of requests for 5 minutes",
        "billing_requests",
        0.02,
        300,
        "Functions answer 5xx: `unavailable` is Firestore (or ledger contention), `internal` "
        "an unhandled error (its stack trace is in the function's logs), `provider_error` "
        "(502) is not counted here. Look at the dashboard's error codes by function.",
        where='metric.label.status_class="5xx"',
        ratio=True,
    ),
    Alert(
        "payment_success",
        "payment success rate below 80 % over an hour",
        "billing_payments",
        0.8,
        3600,
        "Fewer than 80 % of payment outcomes (card payments, credit purchases) succeeded in "
        "the last hour. Check the provider's status page, declines by code in the logs "
        "(`payment outcome`), and whether a key or webhook secret was rotated.",
        where='metric.label.outcome="succeeded"',
        ratio=True,
        below=True,
    ),
    Alert(
        "webhook_signatures",
        "more than 5 webhook signature failures in 5 minutes",
        "billing_webhook_signature_failures",
        5,
        300,
        "A provider's webhooks are refused: the webhook secret in Secret Manager no longer "
        "matches the provider's dashboard (rotated on one side only), or someone is forging "
        "events. Payments still settle by verify and reconciliation, but later.",
    ),
    Alert(
        "outbox_parked",
        "a notification was parked",
        "billing_outbox_parked",
        0,
        300,
        "The event service refused or missed a payment notification OUTBOX_MAX_ATTEMPTS "
        "times; it is `status: parked` in `outbox/`. Fix the event service (URL, secret), "
        "then set the document's status back to `pending` to deliver it.",
    ),
    Alert(
        "ledger_contention",
        "a balance change lost every race (503)",
        "billing_ledger_contention",
        0,
        300,
        "An account took more concurrent writes than its ledger can order: a caller got 503 "
        "after every retry. Find the account in the `ledger contention` lines' request "
        "(correlation id) and the calling service; batch its usage or use holds.",
    ),
    Alert(
        "reconciliation_gave_up",
        "more than 10 reconciliation give-ups in an hour",
        "billing_reconciliation",
        10,
        3600,
        "Orders and payments leave the reconciliation queue after RECONCILE_GIVE_UP_SECONDS "
        "without a conclusive answer. Abandoned checkouts do so steadily; a burst means the "
        "provider stopped answering for many items: look at `provider refused` lines and "
        "settle the orders by hand.",
        where='metric.label.outcome="gave_up"',
    ),
)


# --- make metrics and the e2e check: the same figures from local logs ---------------------


def unproven(lines: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each metric whose filter matches none of ``lines``, or whose matched lines lack a field
    it extracts (or hold it with the wrong type): empty when every metric is sound."""
    seen = list(lines)
    found = []
    for metric in METRICS:
        hits = [line for line in seen if metric.matches(line)]
        if not hits:
            found.append(f"{metric.name}: `{metric.filter}` matched none of {len(seen)} lines")
        problems = sorted({problem for line in hits for problem in metric.problems(line)})
        found += [f"{metric.name}: {problem}" for problem in problems]
    return found


def log_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.log"))


def report(lines: Iterable[Mapping[str, Any]]) -> str:
    """A table of each metric: lines counted, per label values, and the value's spread."""
    seen = list(lines)
    rows: list[tuple[str, str, int, str]] = []
    for metric in METRICS:
        hits = [line for line in seen if metric.matches(line)]
        groups: Counter[str] = Counter()
        values: dict[str, list[float]] = {}
        sums: dict[str, int] = {}
        for line in hits:
            key = ",".join(f"{k}={line.get(v)}" for k, v in metric.labels.items()) or "-"
            groups[key] += 1
            if metric.value is not None:
                values.setdefault(key, []).append(float(line.get(metric.value) or 0))
            if metric.signed is not None:
                sums[key] = sums.get(key, 0) + int(line.get(metric.signed) or 0)
        if not groups:
            rows.append((metric.name, "(no lines)", 0, ""))
        for key, count in sorted(groups.items()):
            rows.append(
                (metric.name, key, count, _spread(values.get(key, []), metric, sums.get(key)))
            )
    # Columns as wide as their widest cell: label sets vary from a few characters to a hundred.
    name_width = max(len("metric"), *(len(row[0]) for row in rows))
    key_width = max(len("labels"), *(len(row[1]) for row in rows))
    count_width = max(len("count"), *(len(str(row[2])) for row in rows))
    out = [f"{'metric':<{name_width}}  {'labels':<{key_width}}  {'count':>{count_width}}  values"]
    for name, key, count, spread in rows:
        cells = f"{name:<{name_width}}  {key:<{key_width}}  {count:>{count_width}}  {spread}"
        out.append(cells.rstrip())
    return "\n".join(out)


def _spread(values: list[float], metric: Metric, signed_sum: int | None) -> str:
    if not values:
        return ""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    total = ""
    if metric.unit != "ms":
        total = f"sum {signed_sum if signed_sum is not None else sum(ordered):g}, "
    unit = "" if metric.unit == "1" else f" {metric.unit}"
    return f"{total}p50 {statistics.median(ordered):g}, p95 {p95:g}, max {ordered[-1]:g}{unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=Path, default=ROOT / ".stack", help="folder of *.log")
    args = parser.parse_args(argv)
    files = log_files(args.logs)
    if not files:
        print(f"no logs in {args.logs}/: start the stack with `make dev` first", file=sys.stderr)
        return 1
    print(report(payloads(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
