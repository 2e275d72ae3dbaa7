"""The shape of the Authorization header is the HTTP edge's rule, on every kind of endpoint.

In process, through the real ``@endpoint`` wrapper on fakes (tests/unit/edge.py); what the token
verifiers say of real tokens (tampered, expired, revoked, wrong audience) is proven with real
tokens in tests/e2e/test_auth.py and tests/integration/test_firebase_tokens.py.
"""

from __future__ import annotations

import pytest

from tests.unit.edge import Edge

SHAPES = {
    "missing": {},
    "empty": {"Authorization": ""},
    "no-token": {"Authorization": "Bearer"},
    "blank token": {"Authorization": "Bearer   "},
    "wrong-scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
}
# One endpoint of each kind that asks for a credential.
ENDPOINTS = {
    "user": ("GET", "/api/v1/credits/balance"),
    "admin": ("POST", "/api/v1/admin/credits/grant"),
    "service": ("POST", "/api/v1/usage"),
    "scheduler": ("POST", "/api/v1/holds/expire"),
}


@pytest.mark.parametrize("kind", ENDPOINTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_missing_or_malformed_authorization_header_is_401(
    edge: Edge, kind: str, shape: str
) -> None:
    method, path = ENDPOINTS[kind]
    response = edge.request(method, path, SHAPES[shape], {})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert edge.ledger.entries == []
