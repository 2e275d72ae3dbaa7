"""The service client's copy of the error table, and its cached service identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import billing_client
from billing_client.errors import error_codes as client_error_codes
from billing_client.errors import error_from_body
from billing_client.identity import GoogleIdentity

from functions.registry import HTTP_FUNCTIONS
from shared.errors import error_codes


def test_the_client_knows_exactly_the_services_error_codes_and_statuses() -> None:
    assert client_error_codes() == error_codes()


def test_an_error_body_becomes_the_typed_error_with_its_details() -> None:
    error = error_from_body(
        402, {"error": {"code": "insufficient_credits", "message": "no", "details": {"a": 1}}}
    )
    assert isinstance(error, billing_client.InsufficientCredits)
    assert (error.message, error.details) == ("no", {"a": 1})
    assert isinstance(error_from_body(503, None, retry_after=2.0), billing_client.Unavailable)
    assert error_from_body(429, None, retry_after=2.0).retry_after == 2.0


class FakeIdTokenCredentials:
    """google-auth's credential shape: token, naive-UTC expiry, refresh(request)."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.token: str | None = None
        self.expiry: datetime | None = None
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = (datetime.now(UTC) + self.lifetime).replace(tzinfo=None)


def test_the_identity_token_is_cached_until_a_minute_before_it_expires() -> None:
    identity = GoogleIdentity("https://billing.example")
    credentials = FakeIdTokenCredentials(timedelta(hours=1))
    identity._credentials = credentials  # what _build() gets from google-auth
    assert [identity(), identity(), identity()] == ["token-1"] * 3
    credentials.lifetime = timedelta(seconds=30)  # the next token is about to expire
    credentials.expiry = datetime.now(UTC).replace(tzinfo=None)
    assert identity() == "token-2"
    assert identity() == "token-3"  # within the refresh margin: refreshed every call


def test_the_client_calls_each_endpoint_at_its_deployed_functions_url() -> None:
    """Service endpoints are private functions (no Hosting rewrite): one URL per function."""
    from billing_client.client import FUNCTIONS, BillingClient

    from functions.registry import Auth, http_function

    service = {f.path: f.name for f in HTTP_FUNCTIONS if f.auth is Auth.SERVICE}
    for path, name in FUNCTIONS.items():
        assert http_function(name).path == path and service[path] == name

    sent: list[str] = []

    class Session:
        def post(self, url: str, **_: Any) -> Any:
            sent.append(url)

            class Answer:
                status_code = 200

                def json(self) -> dict[str, Any]:
                    return {"hold_id": "h1", "status": "released"}

            return Answer()

    client = BillingClient.for_cloud_functions(
        "asia-south1",
        "acme-prod",
        lambda: "token",
        session=Session(),
    )
    client.release_hold("h1")
    assert sent == [
        "https://asia-south1-acme-prod.cloudfunctions.net/holds_release/api/v1/holds/h1/release"
    ]
