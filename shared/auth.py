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
