"""Usage from other services through the gateway: service identity, exactly-once, no overspend."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devstack.stack import METERING_SERVICE_EMAIL, Stack
from shared.ledger.entries import EntryType, Posting
from shared.ledger.invariants import invariant_violations
from tests.conftest import User

pytestmark = pytest.mark.stack


def usage(gateway: str, headers: dict[str, str], **body: Any) -> requests.Response:
    return requests.post(f"{gateway}/api/v1/usage", json=body, headers=headers, timeout=30)


def event(user_id: str, amount: int, event_id: str | None = None) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "service": "chat",
        "amount": amount,
        "event_id": event_id or uuid.uuid4().hex,
        "description": "100 tokens",
    }


def batch(gateway: str, headers: dict[str, str], events: list[Any]) -> requests.Response:
    return requests.post(
        f"{gateway}/api/v1/usage/batch", json={"events": events}, headers=headers, timeout=30
    )


def account(prefix: str = "acct") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_a_usage_event_is_charged_once(gateway: str, service_headers, gateway_ledger) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    body = event(uid, 300)

    first = usage(gateway, service_headers, **body)
    again = usage(gateway, service_headers, **body)

    assert first.status_code == 201, first.text
    assert first.json()["balance_after"] == 700
    assert again.status_code == 201
    assert again.json()["transaction_id"] == first.json()["transaction_id"]
    assert again.json()["balance_after"] == 700
    assert again.json()["replayed"] is True
    assert gateway_ledger.head(uid).balance == 700


def test_the_same_event_id_with_another_amount_is_a_conflict(
    gateway: str, service_headers, gateway_ledger
) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    body = event(uid, 300)
    assert usage(gateway, service_headers, **body).status_code == 201
    response = usage(gateway, service_headers, **{**body, "amount": 301})
    assert response.status_code == 409
    assert gateway_ledger.head(uid).balance == 700


def test_short_of_credits_is_402_and_nothing_is_deducted(
    gateway: str, service_headers, gateway_ledger
) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 100, actor="test")])
    response = usage(gateway, service_headers, **event(uid, 101))
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert gateway_ledger.head(uid).balance == 100
    assert gateway_ledger.head(uid).seq == 1


def test_twenty_concurrent_repeats_of_one_event_deduct_once(
    gateway: str, service_headers, gateway_ledger
) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 10_000, actor="test")])
    body = event(uid, 250)
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: usage(gateway, service_headers, **body), range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["transaction_id"] for r in responses}) == 1
    entries = gateway_ledger.entries(uid)
    assert [e.type for e in entries] == [EntryType.GRANT, EntryType.USAGE]
    assert entries[-1].balance_after == 9_750


def test_fifty_concurrent_usage_calls_never_overspend(
    gateway: str, service_headers, gateway_ledger
) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(
            pool.map(lambda _: usage(gateway, service_headers, **event(uid, 30)), range(50))
        )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 402}, statuses
    assert statuses.count(201) == 1_000 // 30  # 33 fit, the rest are refused
    entries = gateway_ledger.entries(uid)
    assert invariant_violations(entries) == []
    assert entries[-1].balance_after == 1_000 - 33 * 30
    assert min(e.balance_after for e in entries) >= 0


def test_a_batch_answers_per_event(gateway: str, service_headers, gateway_ledger) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 500, actor="test")])
    repeated = event(uid, 100)
    events = [repeated, event(uid, 200), event(uid, 1_000), repeated, event(uid, 150)]
    response = batch(gateway, service_headers, events)
    assert response.status_code == 200, response.text
    results = response.json()["data"]
    assert [r["status"] for r in results] == ["charged", "charged", "failed", "charged", "charged"]
    assert results[2]["error"]["code"] == "insufficient_credits"
    assert results[3]["replayed"] is True
    assert results[3]["transaction_id"] == results[0]["transaction_id"]
    assert results[4]["balance_after"] == 50
    assert gateway_ledger.head(uid).balance == 50


# --- Service identity ---------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def strip_signature(token: str) -> str:
    from shared.adapters.service_identity import strip_signature

    return strip_signature(token)


def forged_token(stack: Stack) -> str:
    """A token of the right shape and claims, signed with a key the service does not trust."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from devstack.service_tokens import ServiceTokenIssuer

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServiceTokenIssuer(pem).mint(METERING_SERVICE_EMAIL, stack.service_audience)


def test_forged_expired_and_wrong_audience_tokens_get_401(
    gateway: str, stack: Stack, service_tokens, gateway_ledger
) -> None:
    uid = account()
    gateway_ledger.append(uid, [Posting(EntryType.GRANT, 1_000, actor="test")])
    good = service_tokens.mint(METERING_SERVICE_EMAIL, stack.service_audience)
    header, payload, signature = good.split(".")
    tokens = {
        "forged": forged_token(stack),
        # What Cloud Run hands on, written by hand: only the front end may strip a signature.
        "forged-unsigned": strip_signature(forged_token(stack)),
        "expired": service_tokens.mint(
            METERING_SERVICE_EMAIL, stack.service_audience, issued_at=1_700_000_000
        ),
        "wrong-audience": service_tokens.mint(METERING_SERVICE_EMAIL, "https://other.example"),
        "wrong-issuer": service_tokens.mint(
            METERING_SERVICE_EMAIL, stack.service_audience, iss="https://evil.example"
        ),
        "unverified-email": service_tokens.mint(
            METERING_SERVICE_EMAIL, stack.service_audience, email_verified=False
        ),
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "garbage": "not-a-jwt",
    }
    for name, token in tokens.items():
        response = usage(gateway, bearer(token), **event(uid, 10))
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
    assert usage(gateway, {}, **event(uid, 10)).status_code == 401
    assert gateway_ledger.head(uid).balance == 1_000


def test_a_valid_token_of_an_account_not_on_the_allow_list_gets_403(
    gateway: str, stack: Stack, service_tokens
) -> None:
    token = service_tokens.mint("intruder@demo-billing.iam.gserviceaccount.com", stack.gateway_url)
    response = usage(gateway, bearer(token), **event("someone", 10))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_user_tokens_are_refused_on_service_endpoints(gateway: str, user: User) -> None:
    response = usage(gateway, user.headers, **event(user.uid, 10))
    assert response.status_code == 401
    holds = requests.post(
        f"{gateway}/api/v1/holds",
        json={"user_id": user.uid, "service": "chat", "amount": 1},
        headers=user.headers,
        timeout=10,
    )
    assert holds.status_code == 401


def test_service_tokens_are_refused_on_user_endpoints(gateway: str, service_headers) -> None:
    response = requests.get(
        f"{gateway}/api/v1/credits/balance", headers=service_headers, timeout=10
    )
    assert response.status_code == 401
