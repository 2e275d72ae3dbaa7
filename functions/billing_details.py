"""The buyer's billing details for tax invoices: read them, save them (validated)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from functions.http import Call, Reply, endpoint
from functions.invoices import PartyJson, party_json
from shared.errors import Forbidden, NotFound
from shared.ids import DOCUMENT_ID_PATTERN
from shared.invoices.billing import BillingDetails, billing_party


class BillingDetailsBody(BaseModel):
    """Validated in the domain (``shared.invoices.billing``) so each bad field is named there."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="Legal name to invoice")
    address: StrictStr
    state: StrictStr | None = Field(default=None, description="GST state code, e.g. 27")
    country: StrictStr | None = Field(default=None, description="ISO code; default IN")
    gstin: StrictStr | None = Field(default=None, description="15-character GSTIN, if registered")


class BillingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr | None = Field(
        default=None, pattern=DOCUMENT_ID_PATTERN, description="Admins only: whose details"
    )


class BillingDetailsJson(PartyJson):
    user_id: str
    updated_at: datetime


@endpoint(query=BillingQuery, body=BillingDetailsBody, response=BillingDetailsJson)
def billing_details(call: Call) -> Reply:
    if call.request.method == "PUT":
        body = call.body(BillingDetailsBody)
        party = billing_party(body.name, body.address, body.state, body.country, body.gstin)
        details = BillingDetails(party, datetime.now(UTC))
        call.services.billing_details.save(call.user.uid, details)
        return Reply(details_json(call.user.uid, details))
    user_id = call.query(BillingQuery).user_id or call.user.uid
    if user_id != call.user.uid and not call.user.is_admin:
        raise Forbidden("reading another account's billing details needs the admin claim")
    found = call.services.billing_details.get(user_id)
    if found is None:
        raise NotFound("no billing details saved")
    return Reply(details_json(user_id, found))


def details_json(user_id: str, details: BillingDetails) -> BillingDetailsJson:
    return {**party_json(details.party), "user_id": user_id, "updated_at": details.updated_at}
