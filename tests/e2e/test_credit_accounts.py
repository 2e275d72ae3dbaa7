"""Account settings, packages, transactions and admin changes, over HTTP through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.accounts.alerts import DEFAULT_LOW_BALANCE_THRESHOLD
from shared.ledger.entries import EntryType, Posting
from shared.purchases.pricing import BONUS_TIERS
from tests.conftest import User

pytestmark = pytest.mark.stack


def api(gateway: str, method: str, path: str, user: User, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{gateway}{path}", headers=user.headers, timeout=20, **kwargs)


@pytest.fixture
def ledger(stack_env: Stack):
    """The gateway's own ledger (the stack's project), to set up entries directly."""
    from google.cloud import firestore

    from shared.adapters.firestore_ledger import FirestoreLedger

    return FirestoreLedger(firestore.Client(project=stack_env.project))


def test_threshold_defaults_and_patch_shows_in_balance_and_account(
    gateway: str, user: User, stack_env: Stack
) -> None:
    before = api(gateway, "GET", "/api/v1/credits/balance", user).json()
    assert before["low_balance_threshold"] == DEFAULT_LOW_BALANCE_THRESHOLD

    patched = api(
        gateway, "PATCH", "/api/v1/credits/account", user, json={"low_balance_threshold": 12_345}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["low_balance_threshold"] == 12_345
    assert patched.json()["settings"]["low_balance_threshold"] == 12_345

    # A projection write (as the balance trigger does, with merge) keeps the settings.
    from google.cloud import firestore

    firestore.Client(project=stack_env.project).collection("user_credits").document(user.uid).set(
        {"balance": 0, "seq": 0, "total_purchased": 0}, merge=True
    )

    assert (
        api(gateway, "GET", "/api/v1/credits/balance", user).json()["low_balance_threshold"]
        == 12_345
    )
    account = api(gateway, "GET", "/api/v1/credits/account", user).json()
    assert account["low_balance_threshold"] == 12_345
    for total in ("total_purchased", "total_bonus", "total_used", "total_refunded"):
        assert account[total] == 0


def test_packages_cover_every_bonus_tier(gateway: str, user: User) -> None:
    response = api(gateway, "GET", "/api/v1/credits/packages", user)
    assert response.status_code == 200
    packages = response.json()["data"]
    amounts = {p["amount"] for p in packages}
    assert all(threshold in amounts for threshold, _ in BONUS_TIERS)
    for package in packages:
        assert set(package) >= {"id", "name", "amount", "currency", "tax", "total", "credits"}
        assert package["total"] == package["amount"] + package["tax"]
    assert [p["amount"] for p in packages] == sorted(amounts)


def test_account_totals_and_history_filters(gateway: str, user: User, ledger) -> None:
    ledger.append(user.uid, [Posting(EntryType.PURCHASE, 10_000), Posting(EntryType.BONUS, 0)])
    for n in range(1, 6):
        ledger.append(user.uid, [Posting(EntryType.USAGE, -n * 100, service=f"svc{n % 2}")])
    account = api(gateway, "GET", "/api/v1/credits/account", user).json()
    assert (account["total_purchased"], account["total_used"]) == (10_000, 1_500)
    assert account["balance"] == 8_500

    usage = api(gateway, "GET", "/api/v1/transactions", user, params={"type": "usage"}).json()
    assert [e["amount"] for e in usage["data"]] == [-500, -400, -300, -200, -100]

    # Cursor pagination walks every entry once, newest first.
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api(gateway, "GET", "/api/v1/transactions", user, params=params).json()
        seen += [e["seq"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (
        api(gateway, "GET", "/api/v1/transactions", user, params={"from": future}).json()["data"]
        == []
    )
    assert (
        api(gateway, "GET", "/api/v1/transactions", user, params={"to": past}).json()["data"] == []
    )
    ranged = api(
        gateway, "GET", "/api/v1/transactions", user, params={"from": past, "to": future}
    ).json()["data"]
    assert len(ranged) == 7

    summary = api(
        gateway, "GET", "/api/v1/transactions/usage", user, params={"group_by": "service"}
    ).json()
    assert summary["data"] == [
        {"key": "svc0", "amount": 600, "count": 2},
        {"key": "svc1", "amount": 900, "count": 3},
    ]
    assert summary["total"] == 1_500
    by_day = api(
        gateway, "GET", "/api/v1/transactions/usage", user, params={"group_by": "day"}
    ).json()
    assert by_day["data"] == [
        {"key": datetime.now(UTC).date().isoformat(), "amount": 1_500, "count": 5}
    ]


def test_admin_grant_and_adjust_name_the_admin(gateway: str, user: User, admin: User) -> None:
    body = {"user_id": user.uid, "amount": 2_000, "reason": "support goodwill"}
    denied = api(gateway, "POST", "/api/v1/admin/credits/grant", user, json=body)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"

    granted = api(gateway, "POST", "/api/v1/admin/credits/grant", admin, json=body)
    assert granted.status_code == 201, granted.text
    assert (granted.json()["actor"], granted.json()["balance_after"]) == (admin.uid, 2_000)

    adjust = {"user_id": user.uid, "amount": -500, "reason": "double grant"}
    adjusted = api(gateway, "POST", "/api/v1/admin/credits/adjust", admin, json=adjust)
    assert adjusted.status_code == 201 and adjusted.json()["balance_after"] == 1_500

    too_much = {"user_id": user.uid, "amount": -5_000, "reason": "oops"}
    response = api(gateway, "POST", "/api/v1/admin/credits/adjust", admin, json=too_much)
    assert response.status_code == 402

    for bad, field in [
        ({**body, "amount": 0}, "amount"),
        ({**body, "amount": "5"}, "amount"),
        ({**body, "reason": ""}, "reason"),
        ({"amount": 5, "reason": "x"}, "user_id"),
    ]:
        response = api(gateway, "POST", "/api/v1/admin/credits/grant", admin, json=bad)
        assert response.status_code == 400, bad
        assert field in response.json()["error"]["details"]["fields"]

    history = api(gateway, "GET", "/api/v1/transactions", user).json()["data"]
    assert [(e["type"], e["amount"], e["actor"]) for e in history] == [
        ("adjustment", -500, admin.uid),
        ("grant", 2_000, admin.uid),
    ]
    assert history[1]["source"] == {"admin": admin.uid, "reason": "support goodwill"}


def test_an_admin_finds_an_account_by_email_or_uid_and_reads_its_ledger(
    gateway: str, user: User, admin: User
) -> None:
    grant = {"user_id": user.uid, "amount": 2_500, "reason": "welcome"}
    assert api(gateway, "POST", "/api/v1/admin/credits/grant", admin, json=grant).ok
    for params in ({"email": user.email}, {"user_id": user.uid}):
        found = api(gateway, "GET", "/api/v1/admin/accounts", admin, params=params)
        assert found.status_code == 200, found.text
        account = found.json()
        assert (account["user_id"], account["email"], account["balance"]) == (
            user.uid,
            user.email,
            2_500,
        )
        assert account["total_granted"] == 2_500

    ledger = api(
        gateway, "GET", "/api/v1/admin/transactions", admin, params={"user_id": user.uid}
    ).json()
    assert [(e["type"], e["amount"], e["actor"]) for e in ledger["data"]] == [
        ("grant", 2_500, admin.uid)
    ]
    # The same filters as the user's own history.
    purchases = api(
        gateway,
        "GET",
        "/api/v1/admin/transactions",
        admin,
        params={"user_id": user.uid, "type": "purchase"},
    ).json()
    assert purchases["data"] == []


def test_admin_account_reads_need_the_claim_and_say_what_is_wrong(
    gateway: str, user: User, admin: User
) -> None:
    for path in ("/api/v1/admin/accounts", "/api/v1/admin/transactions"):
        denied = api(gateway, "GET", path, user, params={"user_id": user.uid})
        assert denied.status_code == 403, denied.text
    nobody = api(
        gateway, "GET", "/api/v1/admin/accounts", admin, params={"email": "nobody@example.test"}
    )
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "not_found"
    for params, field in [
        ({}, "email"),
        ({"email": user.email, "user_id": user.uid}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"user_id": "a/b"}, "user_id"),
    ]:
        response = api(gateway, "GET", "/api/v1/admin/accounts", admin, params=params)
        assert response.status_code == 400, (params, response.text)
        assert field in response.json()["error"]["details"]["fields"]
    no_user = api(gateway, "GET", "/api/v1/admin/transactions", admin)
    assert no_user.status_code == 400
    assert "user_id" in no_user.json()["error"]["details"]["fields"]
