"""Holds by other services (service identity): place, capture, release; expiry on a schedule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from functions.http import Call, Reply, endpoint
from shared.errors import invalid_field
from shared.holds import (
    HoldRequest,
    capture_hold,
    expire_due_holds,
    place_hold,
    release_hold,
)
from shared.ids import DOCUMENT_ID_PATTERN
from shared.usage import SERVICE_PATTERN


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    service: StrictStr = Field(pattern=SERVICE_PATTERN.pattern)
    amount: StrictInt = Field(gt=0)
    hold_id: StrictStr | None = Field(default=None, pattern=DOCUMENT_ID_PATTERN)
    expires_in: StrictInt | None = Field(default=None, gt=0)  # seconds


class CaptureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = Field(default=None, gt=0)


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


@endpoint(body=HoldBody)
def holds_place(call: Call) -> Reply:
    body = call.body(HoldBody)
    call.service.require_service(body.service)
    settings = call.services.settings
    ttl = body.expires_in or settings.hold_default_ttl_seconds
    if ttl > settings.hold_max_ttl_seconds:
        raise invalid_field("expires_in", f"at most {settings.hold_max_ttl_seconds} seconds")
    request = HoldRequest(
        body.user_id,
        body.service,
        body.amount,
        body.hold_id or f"hold_{uuid.uuid4().hex}",
        timedelta(seconds=ttl),
    )
    hold = place_hold(
        call.services.ledger, call.services.holds, request, _now(), call.service.email
    )
    return Reply(hold.to_json(), 201)


@endpoint(body=CaptureBody)
def holds_capture(call: Call) -> Reply:
    amount = call.body(CaptureBody).amount
    hold = capture_hold(
        call.services.ledger,
        call.services.holds,
        call.path_param("hold_id"),
        amount=amount,
        now=_now(),
        actor=call.service.email,
        services=call.service.services,
    )
    return Reply(hold.to_json())


@endpoint(body=EmptyBody)
def holds_release(call: Call) -> Reply:
    if call.request.get_data(cache=True):
        call.body(EmptyBody)
    hold = release_hold(
        call.services.ledger,
        call.services.holds,
        call.path_param("hold_id"),
        now=_now(),
        actor=call.service.email,
        services=call.service.services,
    )
    return Reply(hold.to_json())


@endpoint
def holds_expire(call: Call) -> Reply:
    """Cloud Scheduler's target (see SCHEDULED_JOBS): release every hold past its expiry."""
    expired = expire_due_holds(call.services.ledger, call.services.holds, _now())
    return Reply({"expired": expired})


def _now() -> datetime:
    return datetime.now(UTC)
