"""Devices: a signed-in user registers an FCM token to receive low-balance pushes."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, StrictStr

from functions.http import Call, Reply, endpoint
from shared.devices import Platform, register_device


class DeviceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr
    platform: Platform = Platform.ANDROID


@endpoint(body=DeviceBody)
def devices_register(call: Call) -> Reply:
    body = call.body(DeviceBody)
    call.limit_rate("device")
    device = register_device(
        call.services.devices, call.user.uid, body.token, body.platform, datetime.now(UTC)
    )
    return Reply(device.to_json(), 201)
