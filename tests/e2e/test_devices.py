"""Devices: a user registers an FCM token under their own account."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.adapters.firestore_devices import FirestoreDeviceStore
from tests.conftest import User

pytestmark = pytest.mark.stack


def register(gateway: str, headers: dict[str, str], **body: Any) -> requests.Response:
    return requests.post(f"{gateway}/api/v1/devices", json=body, headers=headers, timeout=10)


def test_a_user_registers_a_device_once(gateway: str, user: User, stack_env: Stack) -> None:
    from google.cloud import firestore

    first = register(gateway, user.headers, token="fcm-abc:123", platform="web")
    again = register(gateway, user.headers, token="fcm-abc:123", platform="web")
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert first.json()["token_suffix"] == "-abc:123"
    store = FirestoreDeviceStore(firestore.Client(project=stack_env.project))
    assert store.tokens(user.uid) == ["fcm-abc:123"]


def test_a_service_token_cannot_register_a_device(gateway: str, service_headers) -> None:
    """The unhappy path on the stack (bad tokens, platforms: tests/unit/test_http_refusals.py)."""
    assert register(gateway, service_headers, token="t").status_code == 401
