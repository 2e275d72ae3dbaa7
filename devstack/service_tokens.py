"""A local stand-in for Google's service-account ID tokens (dev and tests only, never deployed).

Production verifies service tokens against Google's certs (``https://www.googleapis.com/oauth2/
v1/certs``). Locally we generate an RSA key, serve its self-signed certificate in the same JSON
shape (``{"kid": "-----BEGIN CERTIFICATE-----..."}``) and mint ID tokens with the claims Google
puts in a service account's token. The service verifies them with the very same code path.

    python -m devstack.service_tokens serve --port 8085 --key .stack/service-identity-key.pem
    python -m devstack.service_tokens mint --key .stack/service-identity-key.pem \\
        --email metering@demo-billing.iam.gserviceaccount.com --audience http://127.0.0.1:5001
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ISSUER = "https://accounts.google.com"
CERTS_PATH = "/oauth2/v1/certs"


def generate_key(path: Path) -> None:
    """Write a fresh RSA private key (PEM) to ``path`` unless one is there already."""
    if path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


@dataclass(frozen=True)
class ServiceTokenIssuer:
    """Mints Google-shaped service-account ID tokens with a local key."""

    private_key_pem: bytes

    @classmethod
    def load(cls, path: Path) -> ServiceTokenIssuer:
        return cls(path.read_bytes())

    @property
    def _key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @property
    def key_id(self) -> str:
        public = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(public).hexdigest()[:40]

    def certs(self) -> dict[str, str]:
        """Return ``{kid: x509 PEM}``, the shape of Google's oauth2/v1/certs."""
        key = self._key
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local-service-identity")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(int(self.key_id[:15], 16))
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return {self.key_id: cert.public_bytes(serialization.Encoding.PEM).decode()}

    def mint(
        self,
        email: str,
        audience: str,
        lifetime_seconds: int = 3600,
        issued_at: int | None = None,
        **overrides: Any,
    ) -> str:
        """Return an ID token for the service account ``email`` addressed to ``audience``."""
        from google.auth import crypt, jwt

        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "azp": hashlib.sha256(email.encode()).hexdigest()[:21],
            "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16)),
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + lifetime_seconds,
        }
        claims.update(overrides)
        signer = crypt.RSASigner.from_string(  # type: ignore[no-untyped-call]
            self.private_key_pem, key_id=self.key_id
        )
        token: bytes = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()


def serve(port: int, issuer: ServiceTokenIssuer) -> None:
    body = json.dumps(issuer.certs()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != CERTS_PATH:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=300")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"service identity certs on http://127.0.0.1:{port}{CERTS_PATH}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve")
    serve_cmd.add_argument("--port", type=int, default=8085)
    serve_cmd.add_argument("--key", type=Path, required=True)
    mint_cmd = sub.add_parser("mint")
    mint_cmd.add_argument("--key", type=Path, required=True)
    mint_cmd.add_argument("--email", required=True)
    mint_cmd.add_argument("--audience", required=True)
    mint_cmd.add_argument("--lifetime", type=int, default=3600)
    args = parser.parse_args()
    if args.command == "serve":
        generate_key(args.key)
        serve(args.port, ServiceTokenIssuer.load(args.key))
    else:
        issuer = ServiceTokenIssuer.load(args.key)
        print(issuer.mint(args.email, args.audience, args.lifetime))


if __name__ == "__main__":
    main()
