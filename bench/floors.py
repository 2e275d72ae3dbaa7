"""Floor functions: bare functions-framework functions that import exactly the SDKs a real
function needs and answer from Firestore once. A real function's cold start is compared to its
floor, so the ratio shows what our own code adds.

Every floor loads pydantic's model machinery (every endpoint validates with it) and the user floor
asks Auth whether the user is disabled or revoked (``check_revoked``), as user endpoints must:
those costs belong to the platform, not to our code. Loading pydantic means ``BaseModel``:
pydantic 2's bare ``import pydantic`` is lazy and loads ~35 ms less than any model needs, which
made the floors too low by that much.
"""

from __future__ import annotations

import os
from typing import Any

_client: Any = None


def _read_firestore_once() -> None:
    global _client  # noqa: PLW0603 - one client per instance, as in the real functions
    from google.cloud import firestore
    from pydantic import BaseModel  # noqa: F401 - every real endpoint validates with it

    if _client is None:
        _client = firestore.Client(project=os.environ["FIREBASE_PROJECT_ID"])
    _client.collection("_bench").document("floor").get()


def _verify_bearer(request: Any) -> None:
    import firebase_admin
    from firebase_admin import auth

    try:
        app = firebase_admin.get_app()
    except ValueError:
        app = firebase_admin.initialize_app(
            options={"projectId": os.environ["FIREBASE_PROJECT_ID"]}
        )
    token = request.headers["Authorization"].split(" ", 1)[1]
    auth.verify_id_token(token, app=app, check_revoked=True)


def floor_firestore(request: Any) -> tuple[str, int]:
    _read_firestore_once()
    return "ok", 200


def floor_firestore_auth(request: Any) -> tuple[str, int]:
    _verify_bearer(request)
    _read_firestore_once()
    return "ok", 200


def floor_firestore_auth_stripe(request: Any) -> tuple[str, int]:
    import stripe  # noqa: F401

    return floor_firestore_auth(request)


def floor_firestore_razorpay(request: Any) -> tuple[str, int]:
    import razorpay  # noqa: F401

    return floor_firestore(request)


def hello(request: Any) -> tuple[str, int]:
    """The warm-latency baseline: a function that does nothing."""
    return "hello", 200


def floor_firestore_service(request: Any) -> tuple[str, int]:
    """A service endpoint's floor: verify a Google-signed ID token, then read Firestore once."""
    import google.auth.transport.requests
    from google.oauth2 import id_token

    token = request.headers["Authorization"].split(" ", 1)[1]
    id_token.verify_token(
        token,
        google.auth.transport.requests.Request(),
        audience=os.environ["SERVICE_AUDIENCE"],
        certs_url=os.environ["SERVICE_CERTS_URL"],
    )
    return floor_firestore(request)
