"""Who is calling: the verified identity behind a request (pure; verifiers live in adapters)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class ServiceCaller(Caller):
    """A verified service account calling service-to-service; ``uid`` is its email."""

    @property
    def email(self) -> str:
        return self.uid


class ServiceTokenVerifier(ABC):
    """Port: turn a Google-signed OIDC ID token into a ``ServiceCaller``.

    Raises ``Unauthenticated`` (bad signature, expired, wrong audience or issuer) or ``Forbidden``
    (a valid token of an account that is not on the allow-list).
    """

    @abstractmethod
    def verify(self, token: str) -> ServiceCaller: ...


def require_allowed_service(email: object, allowed: frozenset[str]) -> str:
    """Return the lower-cased ``email`` if it is on the allow-list, else raise ``Forbidden``."""
    if not isinstance(email, str) or email.lower() not in allowed:
        raise Forbidden("this service account may not call this service")
    return email.lower()
