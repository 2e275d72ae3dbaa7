"""Firebase ID token verification with firebase-admin.

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts the Auth emulator's tokens; in
production it checks Google's signature, audience (the project), issuer and expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.auth import Caller, TokenVerifier
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


class FirebaseTokenVerifier(TokenVerifier):
    def __init__(
        self,
        app: firebase_admin.App,
        check_revoked: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._check_revoked = check_revoked
        self._clock = clock

    def verify(self, token: str) -> Caller:
        from firebase_admin import auth, exceptions

        try:
            claims = auth.verify_id_token(token, app=self._app, check_revoked=self._check_revoked)
        except (
            ValueError,
            auth.InvalidIdTokenError,  # also expired and revoked tokens
            auth.UserDisabledError,
            auth.UserNotFoundError,
        ) as exc:
            raise Unauthenticated("the ID token is invalid, expired or revoked") from exc
        except exceptions.FirebaseError as exc:  # key fetch or user lookup failed: try again
            raise Unavailable("cannot verify the token right now; retry") from exc
        _check_lifetime(claims, self._clock())
        return Caller(uid=str(claims["uid"]), claims=claims)


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
