"""The four health endpoints of docs/api.md, through the gateway, as a load balancer calls them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import Ports, Stack

pytestmark = pytest.mark.stack


def test_health_endpoints_answer(gateway: str) -> None:
    health = requests.get(f"{gateway}/api/v1/health", timeout=10)
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "healthy"
    assert body["service"] == "billing-service"
    assert body["version"]
    assert body["checks"] == {"firestore": "ok"}

    assert requests.get(f"{gateway}/api/v1/health/ready", timeout=10).status_code == 200
    assert requests.get(f"{gateway}/api/v1/health/live", timeout=10).json() == {"status": "alive"}
    assert requests.get(f"{gateway}/health", timeout=10).json() == {
        "status": "healthy",
        "service": "billing-service",
    }


@pytest.fixture
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A Firestore emulator and gateway of this test's own, so stopping Firestore harms nobody."""
    local = Stack(ports=Ports.free(), state_dir=tmp_path_factory.mktemp("own-stack"))
    local.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        local.start_firestore()
        local.start_gateway()
        yield local
    finally:
        local.stop()


def wait_for_status(url: str, status: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    got = -1
    while time.monotonic() < deadline:
        got = requests.get(url, timeout=10).status_code
        if got == status:
            return got
        time.sleep(0.3)
    return got


def test_ready_is_503_while_firestore_is_down_and_200_when_back(own_stack: Stack) -> None:
    ready = f"{own_stack.gateway_url}/api/v1/health/ready"
    assert wait_for_status(ready, 200) == 200

    own_stack.processes.pop("firestore").stop()
    assert wait_for_status(ready, 503) == 503
    body = requests.get(ready, timeout=10).json()
    assert body["checks"] == {"firestore": "unavailable"}
    # Liveness does not depend on Firestore.
    live = requests.get(f"{own_stack.gateway_url}/api/v1/health/live", timeout=10)
    assert live.status_code == 200

    own_stack.start_firestore()
    assert wait_for_status(ready, 200) == 200
