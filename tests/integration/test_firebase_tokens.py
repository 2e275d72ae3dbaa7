"""Firebase ID token verification on the production path, with a local key standing in for
Google's, and disabled / revoked users against the Auth emulator."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import firebase_admin
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from firebase_admin import _token_gen, auth, credentials

from devstack.stack import Stack
from shared.adapters.firebase_auth import FirebaseTokenVerifier
from shared.errors import Unauthenticated
from tests.conftest import sign_up

PROJECT = "demo-prod-check"
KID = "local-key-1"


def _self_signed(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_url(google_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """Serve {kid: certificate} as Google's securetoken endpoint does."""
    body = json.dumps({KID: _self_signed(google_key)}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()
    server.server_close()


@pytest.fixture
def verifier(cert_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FirebaseTokenVerifier]:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", cert_url)
    # A service-account credential made from a throwaway key: production mode wants one, and
    # verification itself never uses it (no network but the certificate fetch).
    throwaway = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    credential = credentials.Certificate(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "k1",
            "private_key": throwaway.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            "client_email": f"billing@{PROJECT}.iam.gserviceaccount.com",
            "token_uri": "http://127.0.0.1:9/token",
        }
    )
    app = firebase_admin.initialize_app(
        credential, options={"projectId": PROJECT}, name=uuid.uuid4().hex
    )
    yield FirebaseTokenVerifier(app)
    firebase_admin.delete_app(app)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": "user-1",
        "user_id": "user-1",
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        "firebase": {"sign_in_provider": "password"},
    }
    return {**base, **overrides}


def sign(key: rsa.RSAPrivateKey, payload: dict[str, Any], kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


def test_a_token_signed_by_the_google_key_is_accepted(
    verifier: FirebaseTokenVerifier, google_key: rsa.RSAPrivateKey
) -> None:
    caller = verifier.verify(sign(google_key, claims(admin=True)))
    assert caller.uid == "user-1"
    assert caller.is_admin


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not-yet-valid",
        "wrong-project",
        "wrong-issuer",
        "no-subject",
        "tampered",
        "alg-none",
        "other-key",
        "no-kid",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(
    verifier: FirebaseTokenVerifier, google_key: rsa.RSAPrivateKey, case: str
) -> None:
    now = int(time.time())
    makers: dict[str, Callable[[], str]] = {
        "expired": lambda: sign(google_key, claims(iat=now - 7200, exp=now - 3600)),
        "not-yet-valid": lambda: sign(google_key, claims(iat=now + 3600, exp=now + 7200)),
        "wrong-project": lambda: sign(google_key, claims(aud="someone-else")),
        "wrong-issuer": lambda: sign(google_key, claims(iss="https://evil.example/x")),
        "no-subject": lambda: sign(google_key, claims(sub="")),
        "tampered": lambda: ".".join(
            [
                sign(google_key, claims()).split(".")[0],
                _b64(claims(sub="victim")),
                sign(google_key, claims()).split(".")[2],
            ]
        ),
        "alg-none": lambda: f"{_b64({'alg': 'none', 'kid': KID})}.{_b64(claims())}.",
        "other-key": lambda: sign(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), claims()
        ),
        "no-kid": lambda: sign(google_key, claims(), kid=None),
        "garbage": lambda: "not.a.token",
    }
    token = makers[case]()
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


@pytest.mark.stack
def test_disabled_users_and_revoked_sessions_are_refused(stack_env: Stack) -> None:
    app = firebase_admin.initialize_app(
        options={"projectId": stack_env.project}, name=uuid.uuid4().hex
    )
    try:
        verifier = FirebaseTokenVerifier(app, check_revoked=True)
        disabled, revoked = sign_up(stack_env), sign_up(stack_env)
        assert verifier.verify(disabled.token).uid == disabled.uid

        auth.update_user(disabled.uid, disabled=True, app=app)
        with pytest.raises(Unauthenticated):
            verifier.verify(disabled.token)

        time.sleep(1.1)  # revocation is recorded in whole seconds after the token's iat
        auth.revoke_refresh_tokens(revoked.uid, app=app)
        with pytest.raises(Unauthenticated):
            verifier.verify(revoked.token)
    finally:
        firebase_admin.delete_app(app)


@pytest.mark.stack
def test_a_disabled_user_is_refused_once_the_remembered_status_expires(stack_env: Stack) -> None:
    app = firebase_admin.initialize_app(
        options={"projectId": stack_env.project}, name=uuid.uuid4().hex
    )
    try:
        now = [time.time()]
        verifier = FirebaseTokenVerifier(
            app, check_revoked=True, clock=lambda: now[0], revocation_cache_seconds=30
        )
        user = sign_up(stack_env)
        assert verifier.verify(user.token).uid == user.uid  # looked up and remembered
        auth.update_user(user.uid, disabled=True, app=app)
        now[0] += 10
        assert verifier.verify(user.token).uid == user.uid  # within the 30 s it was told
        now[0] += 21
        with pytest.raises(Unauthenticated):
            verifier.verify(user.token)
    finally:
        firebase_admin.delete_app(app)
