"""Holds by other services (service identity): place, capture, release; expiry on a schedule."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, Reply, endpoint
from functions.params import ServiceCharge
from shared.errors import invalid_field
from shared.ids import DOCUMENT_ID_PATTERN
from shared.usage.holds import (
    MAX_METERED_EVENTS,
    Hold,
    HoldRequest,
    HoldStatus,
    MeteredEvent,
    capture_hold,
    capture_metered,
    expire_due_holds,
    place_hold,
    release_hold,
)


class HoldBody(ServiceCharge):
    hold_id: StrictStr | None = Field(default=None, pattern=DOCUMENT_ID_PATTERN)
    expires_in: StrictInt | None = Field(
        default=None,
        gt=0,
        description="Seconds; at most the configured HOLD_MAX_TTL_SECONDS (400 beyond it)",
    )


class MeteredEventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    amount: StrictInt = Field(gt=0)


# A budget's period of events (up to MAX_METERED_EVENTS of ~60 bytes each) in one capture.
MAX_CAPTURE_BODY_BYTES = 1024 * 1024


class CaptureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = Field(default=None, gt=0)
    events: list[MeteredEventBody] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_METERED_EVENTS,
        description="A budget's events instead of amount: each id charged at most once ever "
        f"(a body with events may be up to {MAX_CAPTURE_BODY_BYTES} bytes)",
    )


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HoldJson(TypedDict):
    hold_id: str
    user_id: str
    service: str
    amount: int
    status: HoldStatus
    captured: int
    released: int
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None


class CaptureJson(HoldJson):
    events_charged: int  # of the events sent; the others were charged before (replays)


class ExpiredJson(TypedDict):
    expired: int


def hold_json(hold: Hold) -> HoldJson:
    return {
        "hold_id": hold.hold_id,
        "user_id": hold.user_id,
        "service": hold.service,
        "amount": hold.amount,
        "status": hold.status,
        "captured": hold.captured,
        "released": hold.amount - hold.captured if hold.settled_at else 0,
        "expires_at": hold.expires_at,
        "created_at": hold.created_at,
        "settled_at": hold.settled_at,
    }


@endpoint(body=HoldBody, response=HoldJson)
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
        call.services.ledger,
        call.services.holds,
        request,
        call.services.clock(),
        call.service.email,
    )
    return Reply(hold_json(hold), 201)


@endpoint(body=CaptureBody, response=CaptureJson)
def holds_capture(call: Call) -> Reply:
    body = call.body(CaptureBody, MAX_CAPTURE_BODY_BYTES)
    svc, caller, hold_id, charged = call.services, call.service, call.path_param("hold_id"), 0
    if body.events is None:
        hold = capture_hold(svc.ledger, svc.holds, hold_id, amount=body.amount, now=svc.clock(),
                            actor=caller.email, services=caller.services)  # fmt: skip
    elif body.amount is not None:
        raise invalid_field("amount", "give amount or events, not both")
    else:
        events = [MeteredEvent(e.event_id, e.amount) for e in body.events]
        hold, charged = capture_metered(svc.ledger, svc.holds, hold_id, events=events,
                                        now=svc.clock(), actor=caller.email,
                                        services=caller.services)  # fmt: skip
    answer: CaptureJson = {**hold_json(hold), "events_charged": charged}
    return Reply(answer)


@endpoint(body=EmptyBody, response=HoldJson)
def holds_release(call: Call) -> Reply:
    if call.request.get_data(cache=True):
        call.body(EmptyBody)
    hold = release_hold(
        call.services.ledger,
        call.services.holds,
        call.path_param("hold_id"),
        now=call.services.clock(),
        actor=call.service.email,
        services=call.service.services,
    )
    return Reply(hold_json(hold))


@endpoint(response=ExpiredJson)
def holds_expire(call: Call) -> Reply:
    """Cloud Scheduler's target (see SCHEDULED_JOBS): release every hold past its expiry."""
    expired = expire_due_holds(call.services.ledger, call.services.holds, call.services.clock())
    answer: ExpiredJson = {"expired": expired}
    return Reply(answer)
