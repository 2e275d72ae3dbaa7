"""Firebase ID token verification with firebase-admin.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts the Auth emulator's tokens; in
production it checks Google's signature, audience (the project), issuer and expiry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.access.auth import Caller, TokenVerifier
from shared.errors import Unauthenticated, Unavailable

if TYPE_CHECKING:
    import firebase_admin


def build_firebase_app(project_id: str) -> firebase_admin.App:
    """Return this instance's firebase-admin app (built once, on first use)."""
    import firebase_admin

    try:
        return firebase_admin.get_app()
    except ValueError:
        return firebase_admin.initialize_app(options={"projectId": project_id})


# Clock skew tolerated on exp/iat, as Google's own verifier allows.
CLOCK_SKEW_SECONDS = 60


# Accounts whose disabled/revoked status is remembered at once (oldest forgotten first).
REVOCATION_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _UserStatus:
    disabled: bool
    tokens_valid_after: float  # seconds; tokens issued before this were revoked
    checked_at: float


class FirebaseTokenVerifier(TokenVerifier):
    """Verify Firebase ID tokens; refuse disabled users and revoked sessions.

    The revocation check costs one Auth API lookup; its answer is remembered per user for
    ``revocation_cache_seconds`` (0 = look up on every request), so a disabled user or revoked
    session is refused at most that long after the change.
    """

    def __init__(
        self,
        app: firebase_admin.App,
        check_revoked: bool = False,
        clock: Callable[[], float] = time.time,
        revocation_cache_seconds: float = 0.0,
    ) -> None:
        self._app = app
        self._check_revoked = check_revoked
        self._clock = clock
        self._cache_seconds = revocation_cache_seconds
        self._statuses: OrderedDict[str, _UserStatus] = OrderedDict()
        self._statuses_lock = threading.Lock()

    def verify(self, token: str) -> Caller:
        from firebase_admin import auth, exceptions

        try:
            claims = auth.verify_id_token(token, app=self._app)
            _check_lifetime(claims, self._clock())
            if self._check_revoked:
                self._check_not_revoked(claims)
        except (
            ValueError,
            auth.InvalidIdTokenError,  # also expired tokens
            auth.UserNotFoundError,
        ) as exc:
            raise Unauthenticated("the ID token is invalid, expired or revoked") from exc
        except exceptions.FirebaseError as exc:  # key fetch or user lookup failed: try again
            raise Unavailable("cannot verify the token right now; retry") from exc
        return Caller(uid=str(claims["uid"]), claims=claims)

    def _check_not_revoked(self, claims: Mapping[str, Any]) -> None:
        status = self._status(str(claims["uid"]))
        if status.disabled or claims["iat"] < status.tokens_valid_after:
            raise Unauthenticated("the ID token is invalid, expired or revoked")

    def _status(self, uid: str) -> _UserStatus:
        from firebase_admin import auth

        now = self._clock()
        with self._statuses_lock:
            cached = self._statuses.get(uid)
        if cached is not None and now - cached.checked_at < self._cache_seconds:
            return cached
        user = auth.get_user(uid, app=self._app)
        valid_after_ms = user.tokens_valid_after_timestamp or 0
        status = _UserStatus(bool(user.disabled), valid_after_ms / 1000, now)
        with self._statuses_lock:
            self._statuses[uid] = status
            self._statuses.move_to_end(uid)
            while len(self._statuses) > REVOCATION_CACHE_SIZE:
                self._statuses.popitem(last=False)
        return status


def _check_lifetime(claims: Mapping[str, Any], now: float) -> None:
    """Refuse expired and not-yet-valid tokens ourselves.

    firebase-admin skips these checks for Auth-emulator tokens; doing them here keeps local runs
    as strict as production, where they are checked twice.
    """
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or exp < now - CLOCK_SKEW_SECONDS:
        raise Unauthenticated("the ID token is invalid, expired or revoked")
    if not isinstance(iat, int) or iat > now + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("the ID token is invalid, expired or revoked")


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    email: str | None


class FirebaseUserDirectory:
    """Find Firebase Auth users by email or uid (an admin looking an account up)."""

    def __init__(self, app: firebase_admin.App) -> None:
        self._app = app

    def find(self, *, email: str | None = None, user_id: str | None = None) -> UserRecord | None:
        """Return the user with this email (or uid), or None when Firebase Auth has none."""
        from firebase_admin import auth, exceptions

        try:
            if email is not None:
                user = auth.get_user_by_email(email, app=self._app)
            else:
                user = auth.get_user(str(user_id), app=self._app)
        except auth.UserNotFoundError:
            return None
        except exceptions.FirebaseError as exc:
            raise Unavailable("cannot look the user up right now; retry") from exc
        return UserRecord(user_id=str(user.uid), email=user.email)
