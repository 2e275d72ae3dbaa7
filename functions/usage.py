"""Usage reported by other services (service identity): single events and batches."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from typing_extensions import TypedDict

from functions.http import Call, ErrorDetail, Reply, endpoint
from functions.params import ServiceCharge
from shared.ids import DOCUMENT_ID_PATTERN
from shared.usage import (
    MAX_BATCH,
    MAX_METADATA_ENTRIES,
    BatchOutcome,
    UsageCharge,
    UsageEvent,
    record_usage,
    record_usage_batch,
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
