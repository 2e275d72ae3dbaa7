"""Who is calling: the verified identity behind a request (pure; verifiers live in adapters)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from shared.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified Firebase user: uid plus the token's claims."""

    uid: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.claims.get("admin") is True

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this endpoint needs the admin claim")


class TokenVerifier(ABC):
    """Port: turn a bearer token into a ``Caller`` or raise ``Unauthenticated``."""

    @abstractmethod
    def verify(self, token: str) -> Caller: ...


class ServiceRole(StrEnum):
    """Which allow-list a service endpoint answers to (least privilege per endpoint)."""

    METERING = "metering"  # usage and holds: the services that spend users' credits
    SCHEDULER = "scheduler"  # hold expiry and reconciliation: Cloud Scheduler's account


@dataclass(frozen=True, slots=True)
class ServiceCaller(Caller):
    """A verified service account calling service-to-service; ``uid`` is its email.

    ``services`` are the ``service`` names it may report usage and hold credits as.
    """

    services: frozenset[str] = frozenset()

    @property
    def email(self) -> str:
        return self.uid

    def may_act_as(self, service: str) -> bool:
        return service in self.services

    def require_service(self, service: str) -> None:
        if not self.may_act_as(service):
            raise Forbidden(
                "this service account may not act as this service", {"service": service}
            )


class ServiceTokenVerifier(ABC):
    """Port: turn a Google-signed OIDC ID token into a ``ServiceCaller``.

    Raises ``Unauthenticated`` (bad signature, expired, wrong audience or issuer) or ``Forbidden``
    (a valid token of an account that is not on the allow-list). ``behind_iam``: an IAM invoker
    check stands in front of the endpoint, so a token whose signature it removed is accepted.
    """

    @abstractmethod
    def verify(self, token: str, *, behind_iam: bool = False) -> ServiceCaller: ...


def require_allowed_service(email: object, allowed: frozenset[str]) -> str:
    """Return the lower-cased ``email`` if it is on the allow-list, else raise ``Forbidden``."""
    if not isinstance(email, str) or email.lower() not in allowed:
        raise Forbidden("this service account may not call this service")
    return email.lower()


@dataclass(frozen=True, slots=True)
class ServiceAccess:
    """Which accounts may call which service endpoints, and as which services they report.

    A metering account reports as the services ``names`` lists for it; one not listed reports
    only as the service named by its account id (``ai@p.iam.gserviceaccount.com`` is ``ai``).
    """

    metering: frozenset[str]
    scheduler: frozenset[str]
    names: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, metering: str, scheduler: str, names: Mapping[str, Iterable[str]]
    ) -> ServiceAccess:
        """Build from comma-separated allow-lists and the account -> service names mapping."""
        return cls(
            _emails(metering),
            _emails(scheduler),
            {email.strip().lower(): frozenset(listed) for email, listed in names.items()},
        )

    @property
    def accounts(self) -> frozenset[str]:
        return self.metering | self.scheduler

    def invokers(self, role: ServiceRole) -> frozenset[str]:
        """The accounts ``role``'s endpoints admit: their IAM invokers and their allow-list."""
        return self.metering if role is ServiceRole.METERING else self.scheduler

    def admit(self, caller: ServiceCaller, role: ServiceRole) -> ServiceCaller:
        """Return ``caller`` with its service names if ``role``'s allow-list has it; else 403."""
        if caller.email not in self.invokers(role):
            raise Forbidden("this service account may not call this endpoint")
        if role is not ServiceRole.METERING:
            return caller
        services = self.names.get(caller.email, frozenset({caller.email.partition("@")[0]}))
        return replace(caller, services=services)


def _emails(listed: str) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in listed.split(",") if e.strip())
