"""Devices a user registers for push notifications (FCM registration tokens)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.errors import invalid_field

MAX_TOKEN_LENGTH = 4096
# Every low-balance alert is pushed to each of a user's tokens: keep the newest few only.
MAX_DEVICES_PER_USER = 10


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class Device:
    user_id: str
    token: str
    platform: Platform
    registered_at: datetime


class DeviceStore(ABC):
    @abstractmethod
    def register(self, device: Device, keep: int) -> None:
        """Store the device under its user (again: refreshed), keeping the ``keep`` newest."""


def register_device(
    store: DeviceStore, user_id: str, token: str, platform: Platform, now: datetime
) -> Device:
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise invalid_field("token", f"must be an FCM registration token (1-{MAX_TOKEN_LENGTH})")
    device = Device(user_id, token, platform, now)
    store.register(device, keep=MAX_DEVICES_PER_USER)
    return device
