"""Monitoring is deployed with the service, watches only metrics that exist, and costs no
function anything: filters in a documented subset, every metric charted, every alert on a metric."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from google.api.metric_pb2 import MetricDescriptor  # type: ignore[import-untyped]
from google.api_core.exceptions import NotFound
from google.cloud.logging_v2.types import LogMetric
from google.cloud.monitoring_dashboard_v1 import Dashboard
from google.cloud.monitoring_v3 import AlertPolicy
from google.protobuf.json_format import ParseError  # type: ignore[import-untyped]

from ops.deploy import config_path
from ops.deploy_config import load
from ops.log_filter import UnsupportedFilter, matches, parse_filter
from ops.metrics import ALERTS, BY_NAME, DASHBOARD, METRICS, USER_METRIC, report, unproven
from ops.monitoring import alert_policy, apply, dashboard, log_metric
from ops.settings_reach import ROOT

REQUEST = {
    "message": "request",
    "logger": "billing.http",
    "function": "usage_record",
    "status": 503,
    "status_class": "5xx",
    "latency_ms": 12.5,
    "error_code": "unavailable",
}


def test_the_filter_subset_judges_lines_as_cloud_logging_does() -> None:
    assert matches('jsonPayload.message="request" AND jsonPayload.status>=500', REQUEST)
    assert not matches('jsonPayload.message="request" AND jsonPayload.status<500', REQUEST)
    assert matches('jsonPayload.latency_ms>12 AND jsonPayload.function!="health"', REQUEST)
    # A missing field, or one of the other type, never matches.
    assert not matches('jsonPayload.missing="x"', REQUEST)
    assert not matches('jsonPayload.status="503"', REQUEST)
    assert not matches("jsonPayload.function>=1", REQUEST)


@pytest.mark.parametrize(
    "text",
    [
        'jsonPayload.message="a" OR jsonPayload.message="b"',
        'jsonPayload.message:"req"',
        "severity>=ERROR",
        'NOT jsonPayload.message="request"',
        'jsonPayload.message=("a" OR "b")',
    ],
)
def test_a_filter_outside_the_subset_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(UnsupportedFilter):
        parse_filter(text)


def test_every_metric_is_a_log_metric_message_built_from_its_definition() -> None:
    for metric in METRICS:
        message = log_metric(metric.name)
        assert message.name == metric.name
        assert message.filter == f'resource.type="cloud_run_revision" AND {metric.filter}'
        parse_filter(metric.filter)  # in the subset the tests can check against real logs
        labels = {d.key for d in message.metric_descriptor.labels}
        assert labels == set(message.label_extractors) == set(metric.labels)
        kind = MetricDescriptor.ValueType.Name(message.metric_descriptor.value_type)
        if metric.value is None:
            assert kind == "INT64"
        else:
            assert kind == "DISTRIBUTION"
            assert message.value_extractor == f"EXTRACT(jsonPayload.{metric.value})"
            assert message.bucket_options.exponential_buckets.num_finite_buckets == 24


def test_an_unknown_field_or_enum_value_fails_here_not_in_production() -> None:
    good = BY_NAME["billing_requests"].log_metric()
    with pytest.raises(ParseError):
        LogMetric.from_json(json.dumps({**good, "labelExtractor": {}}))
    policy = ALERTS[0].policy(["projects/p/notificationChannels/1"])
    policy["combiner"] = "ANY"
    with pytest.raises(ParseError):
        AlertPolicy.from_json(json.dumps(policy))


def charted_metrics() -> set[str]:
    text = DASHBOARD.read_text()
    names = set(re.findall(r'metric\.type=\\"logging\.googleapis\.com/user/(\w+)\\"', text))
    return names | set(re.findall(r"logging_googleapis_com:user_(\w+?)_sum", text))


def test_the_dashboard_charts_every_metric_and_only_metrics_that_exist() -> None:
    assert charted_metrics() == set(BY_NAME)


def test_the_dashboard_is_a_dashboard_message_under_a_fixed_id() -> None:
    board = dashboard("acme-billing-prod")
    assert board.name == "projects/acme-billing-prod/dashboards/billing-service"
    assert board.display_name == json.loads(DASHBOARD.read_text())["displayName"]


def test_every_alert_is_a_policy_paging_the_channels_about_a_deployed_metric() -> None:
    channel = "projects/acme-billing-prod/notificationChannels/1234567890"
    assert {a.id for a in ALERTS} == {
        "server_errors",
        "payment_success",
        "webhook_signatures",
        "outbox_parked",
        "ledger_contention",
        "reconciliation_gave_up",
    }
    for alert in ALERTS:
        policy = alert_policy(alert, (channel,))
        assert list(policy.notification_channels) == [channel]
        assert policy.documentation.content
        (condition,) = policy.conditions
        threshold = condition.condition_threshold
        filters = [threshold.filter] + ([threshold.denominator_filter] if alert.ratio else [])
        for text in filters:
            assert 'resource.type="cloud_run_revision"' in text, alert.id
            used = re.findall(r'metric\.type="([^"]+)"', text)
            assert used and all(t.removeprefix(USER_METRIC) in BY_NAME for t in used)
        for where in re.findall(r"metric\.label\.(\w+)", threshold.filter):
            assert where in BY_NAME[alert.metric].labels, (alert.id, where)


class RecordingClients:
    """The monitoring APIs as a record: what exists, what each call did, in order."""

    def __init__(self, descriptor_after: int = 0) -> None:
        self.metrics: dict[str, LogMetric] = {}
        self.boards: dict[str, Dashboard] = {}
        self.policies: dict[str, AlertPolicy] = {}
        self.calls: list[str] = []
        self.descriptor_after = descriptor_after

    def get_log_metric(self, name: str) -> LogMetric:
        if name not in self.metrics:
            raise NotFound(name)  # type: ignore[no-untyped-call]
        return self.metrics[name]

    def create_log_metric(self, parent: str, metric: LogMetric) -> None:
        self.metrics[f"{parent}/metrics/{metric.name}"] = metric
        self.calls.append(f"create metric {metric.name}")

    def update_log_metric(self, name: str, metric: LogMetric) -> None:
        self.metrics[name] = metric
        self.calls.append(f"update metric {metric.name}")

    def has_descriptor(self, name: str) -> bool:
        self.calls.append(f"descriptor {name}")
        self.descriptor_after -= 1
        return self.descriptor_after < 0

    def get_dashboard(self, name: str) -> Dashboard:
        if name not in self.boards:
            raise NotFound(name)  # type: ignore[no-untyped-call]
        return self.boards[name]

    def create_dashboard(self, parent: str, board: Dashboard) -> None:
        self.boards[board.name] = board
        self.calls.append("create dashboard")

    def update_dashboard(self, board: Dashboard) -> None:
        self.boards[board.name] = board
        self.calls.append("update dashboard")

    def find_policy(self, project: str, display_name: str) -> AlertPolicy | None:
        return next((p for p in self.policies.values() if p.display_name == display_name), None)

    def create_policy(self, project: str, policy: AlertPolicy) -> None:
        policy.name = f"{project}/alertPolicies/{len(self.policies)}"
        self.policies[policy.name] = policy
        self.calls.append(f"create policy {policy.display_name}")

    def update_policy(self, policy: AlertPolicy) -> None:
        assert policy.name in self.policies
        self.policies[policy.name] = policy
        self.calls.append(f"update policy {policy.display_name}")


def test_applying_twice_upserts_by_name_and_policies_wait_for_their_metrics() -> None:
    config = load(config_path("example"))
    clients = RecordingClients(descriptor_after=3)
    slept: list[float] = []
    apply(config, clients, sleep=slept.append, clock=lambda: 0.0, say=lambda _: None)
    assert len(clients.metrics) == len(METRICS) and len(clients.policies) == len(ALERTS)
    assert len(slept) == 3  # the first descriptor took three looks
    first_policy = next(i for i, c in enumerate(clients.calls) if c.startswith("create policy"))
    assert any(c.startswith("descriptor") for c in clients.calls[:first_policy])
    assert all(c.startswith(("create metric", "descriptor", "create")) for c in clients.calls)
    clients.calls.clear()
    apply(config, clients, sleep=slept.append, clock=lambda: 0.0, say=lambda _: None)
    assert len(clients.metrics) == len(METRICS) and len(clients.policies) == len(ALERTS)
    assert not [c for c in clients.calls if c.startswith("create")]


def test_monitoring_adds_no_import_to_any_function() -> None:
    # Cloud Logging counts the lines: nothing deployed may import the monitoring code.
    sources = [
        ROOT / "main.py",
        *(ROOT / "functions").rglob("*.py"),
        *(ROOT / "shared").rglob("*.py"),
    ]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("ops"), source
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("ops") for a in node.names), source


def test_make_metrics_prints_each_metric_from_local_lines(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    lines = [
        REQUEST,
        {**REQUEST, "status": 200, "status_class": "2xx", "error_code": None, "latency_ms": 3},
        {
            "logger": "billing.ledger",
            "message": "ledger entry",
            "entry_type": "usage",
            "credits": 1200,
            "amount": -1200,
            "service": "ai",
        },
    ]
    log.write_text(
        "not json\n" + "".join(json.dumps({"severity": "INFO", **x}) + "\n" for x in lines)
    )
    from ops.log_filter import payloads

    table = report(payloads([log]))
    assert "function=usage_record,status_class=5xx,error_code=unavailable" in table
    assert "entry_type=usage,service=ai" in table and "sum -1200," in table
    assert "billing_low_balance_alerts" in table and "(no lines)" in table


def test_a_metric_whose_filter_matches_nothing_or_whose_fields_are_untyped_is_unproven() -> None:
    untyped = {**REQUEST, "status_class": 5, "latency_ms": "12"}
    found = unproven([untyped])
    assert "billing_requests: status_class=5 is not a string" in found
    assert "billing_request_latency: latency_ms='12' is not a number" in found
    assert any(f.startswith("billing_low_balance_alerts: `") for f in found)
    assert not any(f.startswith("billing_requests: `") for f in found)  # it matched


def test_make_metrics_lines_up_its_columns_whatever_the_label_length() -> None:
    long = {
        **REQUEST,
        "function": "admin_orders_refund_with_a_long_name",
        "error_code": "idempotency_key_reused",
    }
    table = report([REQUEST, long]).splitlines()
    header, rows = table[0], [row for row in table[1:] if "(no lines)" not in row]
    labels_at, count_ends = header.index("labels"), header.index("count") + len("count")
    for row in rows:
        found = re.match(r"\S+ +(\S+) +(\d+)", row)
        assert found, row
        key, count = found.groups()
        assert row.index(key) == labels_at, row
        assert row.index(f" {count}", labels_at + len(key)) + 1 + len(count) == count_ends, row


def test_make_metrics_sums_credits_with_their_signs() -> None:
    def adjust(amount: int) -> dict[str, object]:
        return {
            "logger": "billing.ledger",
            "message": "ledger entry",
            "entry_type": "adjust",
            "credits": abs(amount),  # the distribution's value: Cloud Logging buckets magnitudes
            "amount": amount,
            "service": None,
        }

    table = report([adjust(1000), adjust(-300)])
    row = next(line for line in table.splitlines() if "entry_type=adjust" in line)
    assert "sum 700," in row
    assert "max 1000" in row  # the spread stays that of the magnitudes production charts


def test_a_ledger_entry_line_without_its_signed_amount_is_unproven() -> None:
    line = {"logger": "billing.ledger", "message": "ledger entry", "entry_type": "usage"}
    found = unproven([{**line, "credits": 5, "service": "ai"}])
    assert "billing_credits: amount=None is not a number" in found
