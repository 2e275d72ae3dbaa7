"""A push sender that only logs: what local runs use instead of FCM (``PUSH_SENDER=log``)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.accounts.alerts import PushNotification, PushResult, PushSender
from shared.log import get_logger

log = get_logger("push")


class LoggingPushSender(PushSender):
    def send(self, tokens: Sequence[str], notification: PushNotification) -> PushResult:
        log.info(
            "push notification (logged, not sent)",
            extra={
                "devices": len(tokens),
                "title": notification.title,
                "body": notification.body,
                "data": dict(notification.data),
            },
        )
        return PushResult(len(tokens))
