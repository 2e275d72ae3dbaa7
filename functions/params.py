"""Request models shared by several resources' handlers (lists, time ranges, service bodies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from shared.ids import DOCUMENT_ID_PATTERN, SERVICE_PATTERN


def _utc(value: object) -> object:
    """Accept an ISO date or datetime; a date means its midnight, a naive time means UTC."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        except ValueError as exc:
            raise ValueError(ISO_PROBLEM) from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(ISO_PROBLEM) from exc
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        try:  # Firestore stores UTC times in years 1-9999: an offset may push one outside
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("must be a time in the years 1 to 9999 (UTC)") from exc
    raise ValueError(ISO_PROBLEM)  # no bare numbers: a query parameter is text


ISO_PROBLEM = "must be an ISO 8601 date or date-time"
UtcDatetime = Annotated[
    datetime,
    BeforeValidator(_utc),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)


class ServiceCharge(BaseModel):
    """What a service's usage event and hold both name: whose credits, for which service, how many.

    The domain's own patterns, stated here too so that the OpenAPI document tells clients.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr = Field(pattern=DOCUMENT_ID_PATTERN)
    service: StrictStr = Field(pattern=SERVICE_PATTERN.pattern)
    amount: StrictInt = Field(gt=0, description="Credit units")
