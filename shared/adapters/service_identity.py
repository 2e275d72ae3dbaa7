"""Service-to-service identity: Google-signed OIDC ID tokens, verified with google-auth.

A calling service (Cloud Run, Cloud Functions, Cloud Scheduler) sends an ID token minted for its
service account with this service's audience. Where the function is private (IAM invoker bindings
for its role's accounts), Cloud Run's front end has already verified the token's signature, expiry
and audience and checked the invoker binding; it then passes the token on with the signature
replaced by ``SIGNATURE_REMOVED_BY_GOOGLE`` ("Cloud Run removes the token signature before passing
the token to the user container": https://cloud.google.com/run/docs/authenticating/service-to-service,
https://cloud.google.com/run/docs/troubleshooting#signature-removed). Such a token is accepted only
where the registry says an IAM check stands in front (``HttpFunction.behind_iam``); anywhere else it
is a forgery. Either way we check issuer, audience, expiry, a verified email and the allow-list
ourselves; a token that still carries a signature is verified against ``certs_url`` (Google's in
production, a local cert server in dev and tests).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.access.auth import ServiceCaller, ServiceTokenVerifier, require_allowed_service
from shared.errors import Unauthenticated, Unavailable

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
CLOCK_SKEW_SECONDS = 60
CERTS_CACHE_SECONDS = 300
SIGNATURE_REMOVED = "SIGNATURE_REMOVED_BY_GOOGLE"
_INVALID = "the service token is invalid, expired or not for us"


def strip_signature(token: str) -> str:
    """Return ``token`` as Cloud Run passes it on after its IAM check: the signature replaced."""
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.{SIGNATURE_REMOVED}"


class GoogleServiceTokenVerifier(ServiceTokenVerifier):
    def __init__(
        self,
        audience: str,
        allowed_emails: frozenset[str],
        certs_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._audience = audience
        self._allowed = allowed_emails
        self._certs_url = certs_url
        self._clock = clock
        self._request = _CachingRequest(certs_url, clock)

    def verify(self, token: str, *, behind_iam: bool = False) -> ServiceCaller:
        if not self._audience or not self._allowed:
            raise Unauthenticated("service identity is not configured on this service")
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthenticated(_INVALID)
        if parts[2] == SIGNATURE_REMOVED:
            if not behind_iam:
                # Nothing verified this token's signature: anyone could have written it.
                raise Unauthenticated(_INVALID)
            claims = self._checked_claims(_unverified_claims(parts[1]))
        else:
            claims = self._verified_claims(token)
        if claims.get("iss") not in GOOGLE_ISSUERS or claims.get("email_verified") is not True:
            raise Unauthenticated(_INVALID)
        email = require_allowed_service(claims.get("email"), self._allowed)
        return ServiceCaller(uid=email, claims=dict(claims))

    def _verified_claims(self, token: str) -> Mapping[str, Any]:
        from google.auth import exceptions as auth_exceptions
        from google.oauth2 import id_token

        try:
            claims: Mapping[str, Any] = id_token.verify_token(
                token,
                self._request,  # type: ignore[arg-type]  # duck-typed transport.Request
                audience=self._audience,
                certs_url=self._certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except auth_exceptions.TransportError as exc:
            raise Unavailable("cannot fetch the keys to verify the service token; retry") from exc
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            raise Unauthenticated(_INVALID) from exc
        return claims

    def _checked_claims(self, claims: Mapping[str, Any]) -> Mapping[str, Any]:
        """What google-auth checks beside the signature: audience, issued-at and expiry."""
        now = self._clock()
        issued, expires = claims.get("iat"), claims.get("exp")
        if (
            claims.get("aud") != self._audience
            or not isinstance(issued, int | float)
            or not isinstance(expires, int | float)
            or issued > now + CLOCK_SKEW_SECONDS
            or expires < now - CLOCK_SKEW_SECONDS
        ):
            raise Unauthenticated(_INVALID)
        return claims


def _unverified_claims(payload: str) -> Mapping[str, Any]:
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise Unauthenticated(_INVALID) from exc
    if not isinstance(claims, dict):
        raise Unauthenticated(_INVALID)
    return claims


class _CachingRequest:
    """A google-auth transport that keeps the certs for a few minutes (one fetch, not one per call).

    google-auth fetches ``certs_url`` on every verification; Google rotates keys slowly, so a short
    cache is safe and saves a round trip per request.
    """

    def __init__(self, certs_url: str, clock: Callable[[], float]) -> None:
        from google.auth.transport.requests import Request

        self._inner = Request()
        self._certs_url = certs_url
        self._clock = clock
        self._cached: tuple[float, Any] | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        if url != self._certs_url or method != "GET":
            return self._inner(url, method=method, **kwargs)
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < CERTS_CACHE_SECONDS:
                return self._cached[1]
            response = self._inner(url, method=method, **kwargs)
            if response.status == 200:
                self._cached = (now, response)
            return response
