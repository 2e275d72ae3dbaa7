"""Service identity behind Cloud Run's front end: the token as the function really receives it.

Behind the IAM invoker check, Cloud Run hands the caller's ID token to the function with its
signature replaced by ``SIGNATURE_REMOVED_BY_GOOGLE`` (docs/deploy.md cites Google's pages). The
verifier trusts that identity only where the registry says an IAM check stands in front, and
still checks issuer, audience, expiry, ``email_verified`` and the allow-list itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.service_tokens import ServiceTokenIssuer
from shared.adapters.service_identity import (
    SIGNATURE_REMOVED,
    GoogleServiceTokenVerifier,
    strip_signature,
)
from shared.errors import Forbidden, Unauthenticated

AUDIENCE = "https://billing.example"
METERING = "metering@p.iam.gserviceaccount.com"
# Nothing serves certs here: a signature-stripped token must never need them.
NO_CERTS = "http://127.0.0.1:9/oauth2/v1/certs"


@pytest.fixture(scope="module")
def issuer() -> ServiceTokenIssuer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServiceTokenIssuer(pem)


@pytest.fixture
def verifier() -> GoogleServiceTokenVerifier:
    return GoogleServiceTokenVerifier(AUDIENCE, frozenset({METERING}), NO_CERTS)


@pytest.fixture
def stripped(issuer: ServiceTokenIssuer) -> Callable[..., str]:
    """A token as Cloud Run passes it on after its IAM check."""
    return lambda email=METERING, audience=AUDIENCE, **claims: strip_signature(
        issuer.mint(email, audience, **claims)
    )


def test_a_token_whose_signature_cloud_run_removed_is_accepted_behind_the_iam_check(
    verifier: GoogleServiceTokenVerifier, stripped: Callable[..., str]
) -> None:
    token = stripped()
    assert token.endswith("." + SIGNATURE_REMOVED)
    caller = verifier.verify(token, behind_iam=True)
    assert caller.email == METERING


def test_a_forged_unsigned_token_is_refused_where_no_iam_check_stands_in_front(
    verifier: GoogleServiceTokenVerifier, stripped: Callable[..., str]
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(stripped(), behind_iam=False)


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"issued_at": int(time.time()) - 7200}),
        ("wrong audience", {"audience": "https://other.example"}),
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("unverified email", {"email_verified": False}),
        ("issued in the future", {"issued_at": int(time.time()) + 3600}),
        ("no expiry", {"exp": None}),
    ],
)
def test_behind_the_iam_check_the_claims_are_still_checked(
    verifier: GoogleServiceTokenVerifier,
    stripped: Callable[..., str],
    case: str,
    claims: dict[str, object],
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(stripped(**claims), behind_iam=True)


def test_behind_the_iam_check_an_account_off_the_allow_list_is_forbidden(
    verifier: GoogleServiceTokenVerifier, stripped: Callable[..., str]
) -> None:
    with pytest.raises(Forbidden):
        verifier.verify(stripped(email="intruder@p.iam.gserviceaccount.com"), behind_iam=True)


@pytest.mark.parametrize("token", ["a.b", "not-a-jwt", f"x.y.{SIGNATURE_REMOVED}", ""])
def test_malformed_stripped_tokens_are_refused(
    verifier: GoogleServiceTokenVerifier, token: str
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify(token, behind_iam=True)
