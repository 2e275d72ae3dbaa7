"""Service identity: a Google-signed ID token for the billing service's audience.

``GoogleIdentity`` asks google-auth for ID-token credentials: from a service-account key file when
one is named (or ``GOOGLE_APPLICATION_CREDENTIALS`` points at one), else from the metadata server
of the Cloud Run / Functions / GCE instance the caller runs on. The token is cached and refreshed
a minute before it expires, once for all threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

# Anything that returns a current bearer token: GoogleIdentity, or a test's own minting function.
TokenProvider = Callable[[], str]

REFRESH_MARGIN = timedelta(seconds=60)


class GoogleIdentity:
    """Callable token provider over google-auth ID-token credentials, cached and refreshed."""

    def __init__(self, audience: str, key_file: str | None = None) -> None:
        self._audience = audience
        self._key_file = key_file
        self._credentials: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._credentials is None:
                self._credentials = self._build()
            if self._stale():
                import google.auth.transport.requests

                self._credentials.refresh(google.auth.transport.requests.Request())
            return str(self._credentials.token)

    def _stale(self) -> bool:
        token, expiry = self._credentials.token, self._credentials.expiry
        if not token or expiry is None:
            return True
        # google-auth keeps expiry as a naive UTC datetime.
        expires = expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
        return bool(datetime.now(UTC) >= expires - REFRESH_MARGIN)

    def _build(self) -> Any:
        import google.auth.transport.requests
        from google.oauth2 import id_token, service_account

        if self._key_file:
            return service_account.IDTokenCredentials.from_service_account_file(  # type: ignore[no-untyped-call]
                self._key_file, target_audience=self._audience
            )
        # Key file from GOOGLE_APPLICATION_CREDENTIALS, else the metadata server.
        return id_token.fetch_id_token_credentials(  # type: ignore[no-untyped-call]
            self._audience, request=google.auth.transport.requests.Request()
        )
