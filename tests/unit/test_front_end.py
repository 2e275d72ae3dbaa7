"""The local gateway plays Cloud Run's front end: IAM invokers for private functions, then strip.

The invoker list is the one the deploy sets (the role's accounts); what passes is the token with
its signature removed, as the function receives it in production.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.front_end import InvokerCheck
from devstack.service_tokens import ServiceTokenIssuer
from functions.registry import http_function
from shared.access.auth import ServiceAccess
from shared.adapters.service_identity import SIGNATURE_REMOVED, strip_signature

AUDIENCE = "http://127.0.0.1:5001"
METERING = "metering@p.iam.gserviceaccount.com"
SCHEDULER = "scheduler@p.iam.gserviceaccount.com"


def issuer() -> ServiceTokenIssuer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServiceTokenIssuer(pem)


TRUSTED, UNTRUSTED = issuer(), issuer()


@pytest.fixture
def front_end(monkeypatch: pytest.MonkeyPatch) -> InvokerCheck:
    check = InvokerCheck(ServiceAccess.from_settings(METERING, SCHEDULER, {}), AUDIENCE, "unused")
    monkeypatch.setattr(check, "_google_certs", TRUSTED.certs)
    return check


def call(front_end: InvokerCheck, function: str, **headers: str) -> tuple[str | None, Any]:
    environ: dict[str, Any] = {f"HTTP_{k.upper()}": v for k, v in headers.items()}
    answered: list[str] = []

    def start_response(status: str, _headers: object, _exc_info: object = None) -> Any:
        answered.append(status)

    refused = front_end(http_function(function), environ, start_response)
    return (answered[0] if refused is not None else None), environ


def test_an_invoker_of_a_private_function_passes_with_the_signature_removed(
    front_end: InvokerCheck,
) -> None:
    token = TRUSTED.mint(METERING, AUDIENCE)
    refused, environ = call(front_end, "usage_record", authorization=f"Bearer {token}")
    assert refused is None
    assert environ["HTTP_AUTHORIZATION"] == f"Bearer {strip_signature(token)}"
    assert environ["HTTP_AUTHORIZATION"].endswith("." + SIGNATURE_REMOVED)


def test_an_account_without_the_invoker_binding_gets_403(front_end: InvokerCheck) -> None:
    token = TRUSTED.mint(SCHEDULER, AUDIENCE)
    refused, environ = call(front_end, "usage_record", authorization=f"Bearer {token}")
    assert refused == "403 Forbidden"
    assert environ["HTTP_AUTHORIZATION"] == f"Bearer {token}"  # nothing reaches the function


@pytest.mark.parametrize(
    "token",
    [
        UNTRUSTED.mint(METERING, AUDIENCE),
        strip_signature(UNTRUSTED.mint(METERING, AUDIENCE)),  # forged, unsigned
        TRUSTED.mint(METERING, "https://other.example"),
        TRUSTED.mint(METERING, AUDIENCE, issued_at=1_700_000_000),
        "not-a-jwt",
    ],
    ids=["forged", "unsigned", "wrong-audience", "expired", "garbage"],
)
def test_a_token_google_did_not_sign_for_us_gets_401(front_end: InvokerCheck, token: str) -> None:
    refused, _ = call(front_end, "holds_place", authorization=f"Bearer {token}")
    assert refused == "401 Unauthorized"


def test_x_serverless_authorization_is_the_header_checked_when_present(
    front_end: InvokerCheck,
) -> None:
    token = TRUSTED.mint(SCHEDULER, AUDIENCE)
    refused, environ = call(
        front_end,
        "reconcile",
        x_serverless_authorization=f"Bearer {token}",
        authorization="Bearer user-token",
    )
    assert refused is None
    assert environ["HTTP_X_SERVERLESS_AUTHORIZATION"] == f"Bearer {strip_signature(token)}"
    assert environ["HTTP_AUTHORIZATION"] == "Bearer user-token"


def test_public_functions_pass_untouched(front_end: InvokerCheck) -> None:
    refused, environ = call(front_end, "credits_balance", authorization="Bearer user.token.sig")
    assert refused is None
    assert environ["HTTP_AUTHORIZATION"] == "Bearer user.token.sig"
