"""Usage reported by other services (service identity): single events and batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, ErrorDetail, Reply, endpoint
from functions.params import ServiceCharge
from shared.ids import DOCUMENT_ID_PATTERN, SERVICE_PATTERN
from shared.ledger.expiry import expire_due_grants
from shared.usage.charges import (
    MAX_BATCH,
    MAX_METADATA_ENTRIES,
    BatchOutcome,
    UsageCharge,
    UsageEvent,
    check_credits,
    record_usage,
    record_usage_batch,
    void_usage,
)


class UsageBody(ServiceCharge):
    event_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    description: StrictStr = Field(default="", max_length=500)
    metadata: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, max_length=MAX_METADATA_ENTRIES
    )

    def event(self) -> UsageEvent:
        return UsageEvent(
            self.user_id, self.service, self.amount, self.event_id, self.description, self.metadata
        )


class UsageBatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[UsageBody] = Field(min_length=1, max_length=MAX_BATCH)


class ChargeJson(TypedDict):
    """The answer to a usage event; the same on every repeat of it (``replayed`` then)."""

    event_id: str
    transaction_id: str
    balance_after: int
    replayed: bool


class ChargedJson(ChargeJson):
    status: Literal["charged"]


class FailedJson(TypedDict):
    event_id: str
    status: Literal["failed"]
    error: ErrorDetail


class BatchJson(TypedDict):
    data: list[ChargedJson | FailedJson]
    charged: int
    failed: int


def charge_json(charge: UsageCharge) -> ChargeJson:
    return {
        "event_id": charge.event_id,
        "transaction_id": charge.transaction_id,
        "balance_after": charge.balance_after,
        "replayed": charge.replayed,
    }


def outcome_json(outcome: BatchOutcome) -> ChargedJson | FailedJson:
    if outcome.charge is not None:
        return {"status": "charged", **charge_json(outcome.charge)}
    assert outcome.error is not None
    error = outcome.error
    return {
        "event_id": outcome.event_id,
        "status": "failed",
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }


@endpoint(body=UsageBody, response=ChargeJson)
def usage_record(call: Call) -> Reply:
    event = call.body(UsageBody).event()
    call.service.require_service(event.service)
    charge = record_usage(call.services.ledger, event, call.service.email)
    return Reply(charge_json(charge), 201)  # a repeat answers the same, marked "replayed"


@endpoint(body=UsageBatchBody, response=BatchJson)
def usage_batch(call: Call) -> Reply:
    events = [body.event() for body in call.body(UsageBatchBody).events]
    for event in events:  # one event the caller may not report refuses the whole batch
        call.service.require_service(event.service)
    outcomes = record_usage_batch(call.services.ledger, events, call.service.email)
    failed = sum(1 for outcome in outcomes if outcome.error is not None)
    batch: BatchJson = {
        "data": [outcome_json(outcome) for outcome in outcomes],
        "charged": len(outcomes) - failed,
        "failed": failed,
    }
    return Reply(batch)


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: StrictStr = Field(pattern=SERVICE_PATTERN.pattern, description="The service charged")


class VoidJson(TypedDict):
    """A usage charge taken back; the same on every repeat (``replayed`` then)."""

    event_id: str
    transaction_id: str
    amount: int
    balance_after: int
    replayed: bool


@endpoint(body=VoidBody, response=VoidJson)
def usage_void(call: Call) -> Reply:
    service = call.body(VoidBody).service
    call.service.require_service(service)
    window = timedelta(seconds=call.services.settings.usage_void_window_seconds)
    void = void_usage(
        call.services.ledger,
        service,
        call.path_param("event_id"),
        actor=call.service.email,
        now=call.services.clock(),
        window=window,
    )
    answer: VoidJson = {
        "event_id": void.event_id,
        "transaction_id": void.transaction_id,
        "amount": void.amount,
        "balance_after": void.balance_after,
        "replayed": void.replayed,
    }
    return Reply(answer, 200 if void.replayed else 201)


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    amount: StrictInt = Field(gt=0, description="Credit units")


class CheckJson(TypedDict):
    allowed: bool
    available: int  # credit units the account could spend now (expired grants not counted)


@endpoint(body=CheckBody, response=CheckJson)
def credits_check(call: Call) -> Reply:
    body = call.body(CheckBody)
    check = check_credits(call.services.ledger, body.user_id, body.amount, call.services.clock())
    answer: CheckJson = {"allowed": check.allowed, "available": check.available}
    return Reply(answer)


class ExpiredGrantsJson(TypedDict):
    accounts: int  # accounts whose expired grants this run wrote off


@endpoint(response=ExpiredGrantsJson)
def grants_expire(call: Call) -> Reply:
    """Cloud Scheduler's target (see SCHEDULED_JOBS): write off every expired grant."""
    answer: ExpiredGrantsJson = {
        "accounts": expire_due_grants(call.services.ledger, call.services.clock())
    }
    return Reply(answer)
