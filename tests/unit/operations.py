"""What the HTTP-edge matrices share: the endpoints derived from the registry, the rightful
caller per auth kind, and an account's footprint in the fakes (to prove a refusal wrote nothing)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from functions.http import MUTATING, Contract
from functions.registry import HTTP_FUNCTIONS, Auth, HttpFunction
from shared.access.auth import ServiceRole
from tests.unit.edge import SCHEDULER, Edge, admin, service

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

    uid: str = "uid-alice"
    admin: Mapping[str, str] = field(default_factory=admin)
    service: Mapping[str, str] = field(default_factory=service)
    scheduler: Mapping[str, str] = field(default_factory=lambda: service(SCHEDULER))

    @property
    def user(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.uid}"}

    def headers(self, function: HttpFunction) -> dict[str, str]:
        """What the function's rightful caller sends (each service endpoint has its own)."""
        if function.auth is Auth.USER:
            return self.user
        if function.auth is Auth.ADMIN:
            return dict(self.admin)
        if function.auth is Auth.SERVICE:
            return dict(self.scheduler if function.role is ServiceRole.SCHEDULER else self.service)
        return {}


def footprint(edge: Edge, uid: str) -> dict[str, object]:
    """What the service has written about ``uid``: ledger head and its records elsewhere."""
    head = edge.ledger.head(uid)
    return {
        "ledger": (head.seq, head.balance, head.held),
        "credit_orders": sum(o.user_id == uid for o in edge.orders.orders.values()),
        "holds": sum(h.user_id == uid for h in edge.holds.holds.values()),
        "payments": sum(p.get("owner_uid") == uid for p in edge.payments.payments.values()),
        "refunds": sum(r.owner_uid == uid for r in edge.payments.refunds.values()),
        "devices": len(edge.devices.devices.get(uid, [])),
        "tax_documents": sum(d.user_id == uid for d in edge.invoices.documents),
        "billing_details": int(uid in edge.billing_details.saved),
    }


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Render ``rows`` as a plain-text table (the figures the tests print)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(line.format(*row) for row in [header, *rows])
