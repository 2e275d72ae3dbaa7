"""Monitoring of one environment through Google's client libraries (``make deploy`` runs it).

Log-based metrics (``google-cloud-logging``), then the dashboard and the alert policies
(``google-cloud-monitoring``, ``google-cloud-monitoring-dashboards``), each upserted by name: a
second run updates what the first created. Every object is built as the API's own message type
from ``ops.metrics`` (``from_json`` refuses an unknown field or enum value), so a mistake fails
in a unit test, not in production. A new log-based metric's descriptor appears in Monitoring
minutes after the metric; a policy on a metric that has none is refused, so each metric's
descriptor is awaited before the policies that use it.

    python -m ops.monitoring --env production [--execute]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.api_core.exceptions import NotFound
from google.cloud.logging_v2.types import LogMetric
from google.cloud.monitoring_dashboard_v1 import Dashboard
from google.cloud.monitoring_v3 import AlertPolicy

from ops.deploy_config import DeployConfig
from ops.metrics import ALERTS, BY_NAME, DASHBOARD, METRICS, Alert

DASHBOARD_ID = "billing-service"
DESCRIPTOR_WAIT_SECONDS = 15 * 60


def log_metric(name: str) -> LogMetric:
    """The LogMetric message of a metric of ``ops.metrics``."""
    message: LogMetric = LogMetric.from_json(json.dumps(BY_NAME[name].log_metric()))
    return message


def alert_policy(alert: Alert, channels: tuple[str, ...]) -> AlertPolicy:
    message: AlertPolicy = AlertPolicy.from_json(json.dumps(alert.policy(channels)))
    return message


def dashboard(project: str) -> Dashboard:
    body = json.loads(DASHBOARD.read_text())
    named = {"name": f"projects/{project}/dashboards/{DASHBOARD_ID}", **body}
    message: Dashboard = Dashboard.from_json(json.dumps(named))
    return message


class Clients(Protocol):
    """The calls we make, one per API method (the real clients, or a test's record)."""

    def get_log_metric(self, name: str) -> LogMetric: ...
    def create_log_metric(self, parent: str, metric: LogMetric) -> None: ...
    def update_log_metric(self, name: str, metric: LogMetric) -> None: ...
    def has_descriptor(self, name: str) -> bool: ...
    def get_dashboard(self, name: str) -> Dashboard: ...
    def create_dashboard(self, parent: str, board: Dashboard) -> None: ...
    def update_dashboard(self, board: Dashboard) -> None: ...
    def find_policy(self, project: str, display_name: str) -> AlertPolicy | None: ...
    def create_policy(self, project: str, policy: AlertPolicy) -> None: ...
    def update_policy(self, policy: AlertPolicy) -> None: ...


@dataclass
class GoogleClients:
    """The real API clients (Application Default Credentials)."""

    _clients: dict[str, Any] = field(default_factory=dict)

    def _client(self, kind: str) -> Any:
        if kind not in self._clients:
            from google.cloud import monitoring_dashboard_v1, monitoring_v3
            from google.cloud.logging_v2.services.metrics_service_v2 import (
                MetricsServiceV2Client,
            )

            self._clients[kind] = {
                "logging": MetricsServiceV2Client,
                "metrics": monitoring_v3.MetricServiceClient,
                "policies": monitoring_v3.AlertPolicyServiceClient,
                "dashboards": monitoring_dashboard_v1.DashboardsServiceClient,
            }[kind]()
        return self._clients[kind]

    def get_log_metric(self, name: str) -> LogMetric:
        metric: LogMetric = self._client("logging").get_log_metric(metric_name=name)
        return metric

    def create_log_metric(self, parent: str, metric: LogMetric) -> None:
        self._client("logging").create_log_metric(parent=parent, metric=metric)

    def update_log_metric(self, name: str, metric: LogMetric) -> None:
        self._client("logging").update_log_metric(metric_name=name, metric=metric)

    def has_descriptor(self, name: str) -> bool:
        try:
            self._client("metrics").get_metric_descriptor(name=name)
        except NotFound:
            return False
        return True

    def get_dashboard(self, name: str) -> Dashboard:
        board: Dashboard = self._client("dashboards").get_dashboard(name=name)
        return board

    def create_dashboard(self, parent: str, board: Dashboard) -> None:
        self._client("dashboards").create_dashboard(parent=parent, dashboard=board)

    def update_dashboard(self, board: Dashboard) -> None:
        self._client("dashboards").update_dashboard(dashboard=board)

    def find_policy(self, project: str, display_name: str) -> AlertPolicy | None:
        found = self._client("policies").list_alert_policies(
            name=project, filter=f"display_name={json.dumps(display_name)}"
        )
        return next(iter(found), None)

    def create_policy(self, project: str, policy: AlertPolicy) -> None:
        self._client("policies").create_alert_policy(name=project, alert_policy=policy)

    def update_policy(self, policy: AlertPolicy) -> None:
        self._client("policies").update_alert_policy(alert_policy=policy)


def apply(
    config: DeployConfig,
    clients: Clients,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] = print,
) -> None:
    """Upsert every metric, then the dashboard, then each policy once its metric can be used."""
    project = f"projects/{config.project}"
    for metric in METRICS:
        name = f"{project}/metrics/{metric.name}"
        message = log_metric(metric.name)
        try:
            clients.get_log_metric(name)
        except NotFound:
            clients.create_log_metric(project, message)
            say(f"created log-based metric {metric.name}")
        else:
            clients.update_log_metric(name, message)
            say(f"updated log-based metric {metric.name}")
    board = dashboard(config.project)
    try:
        clients.get_dashboard(board.name)
    except NotFound:
        clients.create_dashboard(project, board)
        say(f"created dashboard {board.name}")
    else:
        clients.update_dashboard(board)
        say(f"updated dashboard {board.name}")
    ready: set[str] = set()
    for alert in ALERTS:
        metric = BY_NAME[alert.metric]
        if metric.name not in ready:
            _await_descriptor(clients, f"{project}/metricDescriptors/{metric.type}", sleep, clock)
            ready.add(metric.name)
        policy = alert_policy(alert, config.notification_channels)
        existing = clients.find_policy(project, policy.display_name)
        if existing is None:
            clients.create_policy(project, policy)
            say(f"created alert policy {policy.display_name}")
        else:
            policy.name = existing.name  # policies get server-made ids: update that one
            clients.update_policy(policy)
            say(f"updated alert policy {policy.display_name}")


def _await_descriptor(
    clients: Clients, name: str, sleep: Callable[[float], None], clock: Callable[[], float]
) -> None:
    deadline = clock() + DESCRIPTOR_WAIT_SECONDS
    while not clients.has_descriptor(name):
        if clock() > deadline:
            raise TimeoutError(f"{name} did not appear in {DESCRIPTOR_WAIT_SECONDS} s")
        sleep(20)


def main(argv: list[str] | None = None) -> int:
    from ops.deploy import config_path
    from ops.deploy_config import load

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="example")
    parser.add_argument("--execute", action="store_true", help="call the APIs (default: print)")
    args = parser.parse_args(argv)
    config = load(config_path(args.env))
    if not args.execute:
        for metric in METRICS:
            print(LogMetric.to_json(log_metric(metric.name)))
        for alert in ALERTS:
            print(AlertPolicy.to_json(alert_policy(alert, config.notification_channels)))
        return 0
    apply(config, GoogleClients())
    return 0


if __name__ == "__main__":
    sys.exit(main())
