"""Usage reported by other services (service identity): single events and batches."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from functions.http import Call, Reply, endpoint
from shared.ids import DOCUMENT_ID_PATTERN
from shared.usage import (
    MAX_BATCH,
    MAX_METADATA_ENTRIES,
    SERVICE_PATTERN,
    UsageEvent,
    record_usage,
    record_usage_batch,
)


class UsageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The domain's own patterns, stated here too so that the OpenAPI document tells clients.
    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    service: StrictStr = Field(pattern=SERVICE_PATTERN.pattern)
    amount: StrictInt = Field(gt=0)
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


@endpoint(body=UsageBody)
def usage_record(call: Call) -> Reply:
    event = call.body(UsageBody).event()
    call.service.require_service(event.service)
    charge = record_usage(call.services.ledger, event, call.service.email)
    return Reply(charge.to_json(), 201)  # a repeat answers the same, marked "replayed"


@endpoint(body=UsageBatchBody)
def usage_batch(call: Call) -> Reply:
    events = [body.event() for body in call.body(UsageBatchBody).events]
    for event in events:  # one event the caller may not report refuses the whole batch
        call.service.require_service(event.service)
    outcomes = record_usage_batch(call.services.ledger, events, call.service.email)
    data = [outcome.to_json() for outcome in outcomes]
    failed = sum(1 for outcome in outcomes if outcome.error is not None)
    return Reply({"data": data, "charged": len(data) - failed, "failed": failed})
