"""``InvoiceReader``: GST tax invoices, credit notes and billing details, as a Firebase user.

These are user endpoints (a Firebase ID token: the user's own documents, or an admin's for any
account), so they are called through Firebase Hosting (or the local gateway), not at a private
function's URL. A back office (an accountant's export, a CRM) uses it with an admin's token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from billing_client.errors import error_from_body
from billing_client.identity import TokenProvider


class InvoiceReader:
    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout
        self._session = session or requests.Session()

    def invoices(self, user_id: str | None = None, limit: int = 20) -> Iterator[dict[str, Any]]:
        """Every invoice and credit note (the caller's, or ``user_id``'s), newest first."""
        cursor: str | None = None
        while True:
            params = {"limit": limit, "user_id": user_id, "cursor": cursor}
            page = self._get("/api/v1/invoices", params).json()
            yield from page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._get(f"/api/v1/invoices/{quote(invoice_id)}").json()
        return answer

    def invoice_pdf(self, invoice_id: str) -> bytes:
        """The document as PDF: the same bytes every time."""
        return self._get(f"/api/v1/invoices/{quote(invoice_id)}/pdf").content

    def billing_details(self, user_id: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._get("/api/v1/billing/details", {"user_id": user_id}).json()
        return answer

    def save_billing_details(
        self,
        name: str,
        address: str,
        state: str | None = None,
        country: str | None = None,
        gstin: str | None = None,
    ) -> dict[str, Any]:
        """Save the caller's details; a bad field raises ``InvalidRequest`` naming it."""
        body = {"name": name, "address": address, "state": state, "country": country}
        response = self._session.put(
            self._base + "/api/v1/billing/details",
            json={**body, "gstin": gstin},
            headers=self._headers(),
            timeout=self._timeout,
        )
        answer: dict[str, Any] = self._checked(response).json()
        return answer

    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        present = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._session.get(
            self._base + path, params=present, headers=self._headers(), timeout=self._timeout
        )
        return self._checked(response)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens()}"}

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise error_from_body(response.status_code, body if isinstance(body, dict) else None)
        return response
