"""Service-to-service identity: Google-signed OIDC ID tokens, verified with google-auth.

A calling service (Cloud Run, Cloud Functions, Cloud Scheduler) sends an ID token minted for its
service account with this service's audience. We check the signature against the certs at
``certs_url`` (Google's in production, a local cert server in dev and tests), expiry, audience,
issuer, a verified email, and the email allow-list.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.access.auth import ServiceCaller, ServiceTokenVerifier, require_allowed_service
from shared.errors import Unauthenticated, Unavailable

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
CLOCK_SKEW_SECONDS = 60
CERTS_CACHE_SECONDS = 300


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
        self._request = _CachingRequest(certs_url, clock)

    def verify(self, token: str) -> ServiceCaller:
        from google.auth import exceptions as auth_exceptions
        from google.oauth2 import id_token

        if not self._audience or not self._allowed:
            raise Unauthenticated("service identity is not configured on this service")
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
            raise Unauthenticated("the service token is invalid, expired or not for us") from exc
        if claims.get("iss") not in GOOGLE_ISSUERS or claims.get("email_verified") is not True:
            raise Unauthenticated("the service token is invalid, expired or not for us")
        email = require_allowed_service(claims.get("email"), self._allowed)
        return ServiceCaller(uid=email, claims=dict(claims))


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
