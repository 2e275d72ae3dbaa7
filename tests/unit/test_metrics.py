"""Monitoring is deployed with the service, watches only metrics that exist, and costs no
function anything: filters in a documented subset, every metric charted, every alert on a metric."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest

from ops.deploy import Plan, config_path, plan
from ops.deploy_config import load
from ops.log_filter import UnsupportedFilter, matches, parse_filter
from ops.metrics import ALERTS, BY_NAME, DASHBOARD, METRICS, USER_METRIC, report, unproven
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


@pytest.fixture(scope="module")
def deploy() -> Plan:
    return plan(load(config_path("example")))


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


def test_every_metric_is_created_or_updated_by_the_deploy_from_its_definition(
    deploy: Plan,
) -> None:
    for metric in METRICS:
        (step,) = [s for s in deploy.steps if f"logging metrics describe {metric.name} " in s.line]
        assert f"logging metrics update {metric.name} " in step.line
        assert f"logging metrics create {metric.name} " in step.line
        (source,) = {a for a in shlex.split(step.line) if a.startswith("--config-from-file=")}
        written = json.loads(deploy.files[ROOT / source.split("=", 1)[1]])
        assert written["filter"] == metric.filter
        parse_filter(written["filter"])  # in the subset the tests can check
        labels = {d["key"] for d in written["metricDescriptor"]["labels"]}
        assert labels == set(written["labelExtractors"]) == set(metric.labels)
        if metric.value is None:
            assert written["metricDescriptor"]["valueType"] == "INT64"
        else:
            assert written["metricDescriptor"]["valueType"] == "DISTRIBUTION"
            assert written["valueExtractor"] == f"EXTRACT(jsonPayload.{metric.value})"
            assert "exponentialBuckets" in written["bucketOptions"]


def charted_metrics() -> set[str]:
    text = DASHBOARD.read_text()
    names = set(re.findall(r'metric\.type=\\"logging\.googleapis\.com/user/(\w+)\\"', text))
    return names | set(re.findall(r"logging_googleapis_com:user_(\w+?)_sum", text))


def test_the_dashboard_charts_every_metric_and_only_metrics_that_exist() -> None:
    assert charted_metrics() == set(BY_NAME)


def test_the_deploy_creates_the_dashboard_under_a_fixed_id(deploy: Plan) -> None:
    name = "projects/acme-billing-prod/dashboards/billing-service"
    (step,) = [s for s in deploy.steps if "monitoring dashboards" in s.line]
    assert f"dashboards describe {name} " in step.line
    assert f"dashboards update {name} " in step.line and "dashboards create " in step.line
    written = json.loads(deploy.files[ROOT / ".deploy/example/dashboard.json"])
    assert written == {"name": name, **json.loads(DASHBOARD.read_text())}


def test_every_alert_pages_the_configured_channels_about_a_deployed_metric(
    deploy: Plan,
) -> None:
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
        (step,) = [s for s in deploy.steps if f"alerts/{alert.id}.json" in s.line]
        assert "monitoring policies list" in step.line
        assert "policies update" in step.line and "policies create" in step.line
        policy = json.loads(deploy.files[ROOT / f".deploy/example/alerts/{alert.id}.json"])
        assert policy["notificationChannels"] == [channel]
        assert policy["documentation"]["content"]
        (condition,) = policy["conditions"]
        threshold = condition["conditionThreshold"]
        used = re.findall(r'metric\.type="([^"]+)"', json.dumps(threshold).replace('\\"', '"'))
        assert used and all(t.removeprefix(USER_METRIC) in BY_NAME for t in used)
        for where in re.findall(r"metric\.label\.(\w+)", threshold["filter"]):
            assert where in BY_NAME[alert.metric].labels, (alert.id, where)
    # Metrics exist before the dashboard and the alerts that use them.
    lines = [s.line for s in deploy.steps]
    last_metric = max(i for i, line in enumerate(lines) if "logging metrics" in line)
    first_user = min(i for i, line in enumerate(lines) if "monitoring " in line)
    assert last_metric < first_user


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
