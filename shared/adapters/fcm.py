"""Push notifications through Firebase Cloud Messaging (firebase-admin ``messaging``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.accounts.alerts import PushNotification, PushResult, PushSender
from shared.errors import ProviderError

if TYPE_CHECKING:
    import firebase_admin

# FCM accepts at most 500 tokens per multicast.
FCM_MULTICAST_LIMIT = 500


class FcmPushSender(PushSender):
    def __init__(self, app: firebase_admin.App) -> None:
        self._app = app

    def send(self, tokens: Sequence[str], notification: PushNotification) -> PushResult:
        from firebase_admin import exceptions, messaging

        sent, invalid = 0, []
        for start in range(0, len(tokens), FCM_MULTICAST_LIMIT):
            chunk = list(tokens[start : start + FCM_MULTICAST_LIMIT])
            message = messaging.MulticastMessage(
                tokens=chunk,
                notification=messaging.Notification(
                    title=notification.title, body=notification.body
                ),
                data=dict(notification.data),
            )
            try:
                response = messaging.send_each_for_multicast(message, app=self._app)
            except exceptions.FirebaseError as exc:
                raise ProviderError("FCM refused the push; retry later") from exc
            sent += response.success_count
            for token, result in zip(chunk, response.responses, strict=True):
                if not result.success and isinstance(
                    result.exception, messaging.UnregisteredError | messaging.SenderIdMismatchError
                ):
                    invalid.append(token)
        return PushResult(sent, tuple(invalid))
