"""What the abuse tests share: the endpoints derived from the registry, callers per auth kind,
and an account's footprint in Firestore (to prove a refused request wrote nothing)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import BaseModel

from devstack.stack import METERING_SERVICE_EMAIL, SCHEDULER_SERVICE_EMAIL, Stack
from functions.http import MUTATING, Contract
from functions.registry import HTTP_FUNCTIONS, Auth, HttpFunction
from shared.access.auth import ServiceRole
from tests.conftest import User, make_admin, sign_up

MISSING_HOLD = "hold_missing_for_abuse"
MISSING_ORDER = "ord_missing_for_abuse"


@dataclass(frozen=True)
class Operation:
    """One (function, method) pair, with the models its entry point declares."""

    function: HttpFunction
    method: str
    contract: Contract

    @property
    def id(self) -> str:
        return (
            self.function.name
            if len(self.function.methods) == 1
            else (f"{self.function.name}_{self.method.lower()}")
        )

    @property
    def body_model(self) -> type[BaseModel] | None:
        return self.contract.body if self.method in MUTATING else None

    def path(self, **params: str) -> str:
        """The public path with its {params} filled (a hold, event or order that does not
        exist by default)."""
        missing = {"hold_id": MISSING_HOLD, "event_id": MISSING_HOLD, "order_id": MISSING_ORDER}
        return self.function.path.format_map({**missing, **params})


def operations() -> Iterator[Operation]:
    """Every (function, method) of the registry, with the contract of its entry point."""
    import main

    for function in HTTP_FUNCTIONS:
        contract = getattr(getattr(main, function.name), "contract", Contract())
        for method in function.methods:
            yield Operation(function, method, contract)


def json_body_operations() -> list[Operation]:
    """Every operation that takes a JSON body (webhooks take the provider's raw body)."""
    return [
        op
        for op in operations()
        if op.body_model is not None and op.function.auth is not Auth.WEBHOOK
    ]


def mutating_operations() -> list[Operation]:
    """Every operation that honours Idempotency-Key: mutating user, admin and service calls."""
    return [
        op
        for op in operations()
        if op.method in MUTATING and op.function.auth in (Auth.USER, Auth.ADMIN, Auth.SERVICE)
    ]


@dataclass(frozen=True)
class Callers:
    """A user who owns the account under test, an admin, the metering service, the scheduler."""

    user: User
    admin: User
    service: Mapping[str, str]
    scheduler: Mapping[str, str]

    def headers(self, function: HttpFunction) -> dict[str, str]:
        """What the function's rightful caller sends (each service endpoint has its own)."""
        if function.auth is Auth.USER:
            return dict(self.user.headers)
        if function.auth is Auth.ADMIN:
            return dict(self.admin.headers)
        if function.auth is Auth.SERVICE:
            return dict(self.scheduler if function.role is ServiceRole.SCHEDULER else self.service)
        return {}


def service_headers_for(stack: Stack, email: str = METERING_SERVICE_EMAIL) -> dict[str, str]:
    from devstack.service_tokens import ServiceTokenIssuer

    token = ServiceTokenIssuer.load(stack.service_key_path).mint(email, stack.service_audience)
    return {"Authorization": f"Bearer {token}"}


def new_callers(stack: Stack) -> Callers:
    return Callers(
        sign_up(stack),
        make_admin(stack, sign_up(stack)),
        service_headers_for(stack),
        service_headers_for(stack, SCHEDULER_SERVICE_EMAIL),
    )


def send(
    gateway: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> requests.Response:
    import json

    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return requests.request(
        method,
        f"{gateway}{path}",
        data=data,
        headers={**headers, "Content-Type": content_type},
        timeout=60,
    )


def footprint(db: Any, ledger: Any, uid: str) -> dict[str, object]:
    """What the service has written about ``uid``: ledger head and its documents elsewhere."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    def count(collection: str, field: str) -> int:
        query = db.collection(collection).where(filter=FieldFilter(field, "==", uid))
        return len(list(query.stream()))

    head = ledger.head(uid)
    devices = db.collection("user_devices").document(uid).collection("tokens")
    return {
        "ledger": (head.seq, head.balance, head.held),
        "credit_orders": count("credit_orders", "user_id"),
        "holds": count("holds", "user_id"),
        "payments": count("payments", "owner_uid"),
        "refunds": count("refunds", "owner_uid"),
        "devices": len(list(devices.stream())),
        "tax_documents": count("tax_documents", "user_id"),
        "billing_details": int(db.collection("billing_details").document(uid).get().exists),
    }


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Render ``rows`` as a plain-text table (the figures the tests print)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(line.format(*row) for row in [header, *rows])
