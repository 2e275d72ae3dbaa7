"""Cloud Run's front end, played locally: the IAM invoker check of private functions.

In production a private function (``HttpFunction.behind_iam``) is reached only through Cloud Run's
front end, which verifies the caller's Google-signed ID token (signature, expiry, audience),
answers 403 unless its account holds ``roles/run.invoker`` on the function, and hands the token on
with its signature replaced by ``SIGNATURE_REMOVED_BY_GOOGLE`` (docs/deploy.md cites Google's
pages). The invoker list is the one the deploy sets: exactly the accounts of the function's role.
Public functions pass untouched, as Hosting's rewrites serve them.

Cloud Run answers these refusals with an HTML page; we answer in the service's JSON error shape
so that clients and tests read one format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import requests

from functions.registry import HttpFunction
from shared.access.auth import ServiceAccess
from shared.adapters.service_identity import CERTS_CACHE_SECONDS, strip_signature

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# WSGI names of the headers Cloud Run's IAM check reads: X-Serverless-Authorization when present.
SERVERLESS_AUTHORIZATION = "HTTP_X_SERVERLESS_AUTHORIZATION"
AUTHORIZATION = "HTTP_AUTHORIZATION"


class InvokerCheck:
    """Admit a private function's caller as Cloud Run's IAM check does, or answer 401/403."""

    def __init__(self, access: ServiceAccess, audience: str, certs_url: str) -> None:
        self._access = access
        self._audience = audience
        self._certs_url = certs_url
        self._certs: tuple[float, dict[str, str]] | None = None

    def __call__(
        self, function: HttpFunction, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """Return a refusal, or ``None`` after stripping the admitted token's signature."""
        if not function.behind_iam or function.role is None:
            return None
        header = SERVERLESS_AUTHORIZATION if SERVERLESS_AUTHORIZATION in environ else AUTHORIZATION
        scheme, _, token = str(environ.get(header, "")).partition(" ")
        # Only a JWT's shape is worth fetching the certs for.
        shaped = scheme.lower() == "bearer" and token.strip().count(".") == 2
        email = self._verified_email(token.strip()) if shaped else None
        if email is None:
            return _refuse(start_response, 401, "unauthenticated", "a valid ID token is required")
        if email not in self._access.invokers(function.role):
            return _refuse(start_response, 403, "forbidden", "the caller may not invoke this")
        environ[header] = f"Bearer {strip_signature(token.strip())}"
        return None

    def _verified_email(self, token: str) -> str | None:
        """The lower-cased email of a token Google signed for our audience, else ``None``."""
        from google.auth import exceptions, jwt

        try:
            claims = jwt.decode(  # type: ignore[no-untyped-call]
                token, certs=self._google_certs(), audience=self._audience
            )
        except (ValueError, exceptions.GoogleAuthError):
            return None
        email = claims.get("email")
        return email.lower() if isinstance(email, str) else None

    def _google_certs(self) -> dict[str, str]:
        now = time.monotonic()
        if self._certs is None or now - self._certs[0] > CERTS_CACHE_SECONDS:
            response = requests.get(self._certs_url, timeout=10)
            response.raise_for_status()
            self._certs = (now, response.json())
        return self._certs[1]


def _refuse(start_response: StartResponse, status: int, code: str, message: str) -> Iterable[bytes]:
    reason = {401: "Unauthorized", 403: "Forbidden"}[status]
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
