"""The walkthroughs' credentials (docs/walkthroughs.md) work, and work again when run twice."""

from __future__ import annotations

import uuid

import requests

from devstack.stack import Stack
from devstack.tokens import service_token, user_token


def test_user_tokens_are_fresh_users_each_time(stack: Stack) -> None:
    first, second = user_token(stack, None), user_token(stack, None)
    for token in (first, second):
        answer = requests.get(
            f"{stack.gateway_url}/api/v1/credits/balance",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
    assert first != second


def test_a_named_user_signs_in_again_instead_of_failing(stack: Stack) -> None:
    email = "walkthrough-twice@example.test"
    tokens = [user_token(stack, email), user_token(stack, email)]
    uids = {
        requests.get(
            f"{stack.gateway_url}/api/v1/credits/balance",
            headers={"Authorization": f"Bearer {t}"},
            timeout=10,
        ).json()["user_id"]
        for t in tokens
    }
    assert len(uids) == 1


def test_admin_token_carries_the_admin_claim(stack: Stack) -> None:
    user = user_token(stack, None)
    uid = requests.get(
        f"{stack.gateway_url}/api/v1/credits/balance",
        headers={"Authorization": f"Bearer {user}"},
        timeout=10,
    ).json()["user_id"]
    for token in (
        user_token(stack, None, admin=True),
        user_token(stack, "admin-twice@example.test", admin=True),
    ):
        answer = requests.post(
            f"{stack.gateway_url}/api/v1/admin/credits/grant",
            json={"user_id": uid, "amount": 100, "reason": "walkthrough"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
    forbidden = requests.post(
        f"{stack.gateway_url}/api/v1/admin/credits/grant",
        json={"user_id": uid, "amount": 100, "reason": "walkthrough"},
        headers={"Authorization": f"Bearer {user}"},
        timeout=10,
    )
    assert forbidden.status_code == 403


def test_service_token_is_accepted_on_service_endpoints(stack: Stack) -> None:
    answer = requests.post(
        f"{stack.gateway_url}/api/v1/usage",
        json={
            "user_id": "nobody-yet",
            "service": "ai",
            "amount": 1,
            "event_id": f"e-{uuid.uuid4().hex}",
        },
        headers={"Authorization": f"Bearer {service_token(stack, 'metering')}"},
        timeout=10,
    )
    assert answer.status_code == 402, answer.text  # authenticated; the account has no credits
