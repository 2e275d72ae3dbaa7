"""The callers of the bench: a signed-up user, the metering service."""

from __future__ import annotations

import uuid

import requests

from devstack.stack import Stack


def sign_up(stack: Stack) -> tuple[str, str]:
    body = requests.post(
        f"{stack.auth_url}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=bench",
        json={
            "email": f"b-{uuid.uuid4().hex[:10]}@bench.test",
            "password": "bench-pass-1",
            "returnSecureToken": True,
        },
        timeout=10,
    ).json()
    return body["localId"], body["idToken"]


def service_headers(stack: Stack) -> dict[str, str]:
    from devstack.service_tokens import ServiceTokenIssuer
    from devstack.stack import METERING_SERVICE_EMAIL

    issuer = ServiceTokenIssuer.load(stack.service_key_path)
    return {
        "Authorization": f"Bearer {issuer.mint(METERING_SERVICE_EMAIL, stack.service_audience)}"
    }
