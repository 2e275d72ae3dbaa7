"""Devices: a signed-in user registers an FCM token to receive low-balance pushes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from shared.accounts.devices import MAX_TOKEN_LENGTH, Device, Platform, register_device


class DeviceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounds stated for clients; the domain enforces them (and refuses whitespace).
    token: StrictStr = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TOKEN_LENGTH})
    platform: Platform = Platform.ANDROID


class DeviceJson(TypedDict):
    token_suffix: str
    platform: Platform
    registered_at: datetime


def device_json(device: Device) -> DeviceJson:
    # The token is the user's own; echo only its tail, as a card number's last digits.
    return {
        "token_suffix": device.token[-8:],
        "platform": device.platform,
        "registered_at": device.registered_at,
    }


@endpoint(body=DeviceBody, response=DeviceJson)
def devices_register(call: Call) -> Reply:
    body = call.body(DeviceBody)
    call.limit_rate("device")
    device = register_device(
        call.services.devices, call.user.uid, body.token, body.platform, call.services.clock()
    )
    return Reply(device_json(device), 201)
