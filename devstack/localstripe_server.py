"""Run localstripe (third-party fake Stripe) on 127.0.0.1 only, from a clean in-memory store.

localstripe's own ``start()`` binds every interface and reloads (and keeps rewriting) a state file
shared by every instance on the machine (/tmp/localstripe.pickle); this launcher does neither.

localstripe ignores ``Idempotency-Key``; Stripe does not, and our retries (and the SDK's own
network retries) rely on it. This launcher adds Stripe's documented behaviour: a POST whose key
was seen before gets the first answer again (``Idempotent-Replayed: true``) without running
again; the same key with other parameters is a 400 ``idempotency_error``.

It also makes the test cards in ``DECLINED_AT_CHARGE`` behave as Stripe documents them, and
those in ``REFUNDS_CHANGING_LATER`` refund as Stripe documents: the refund starts in one status
and moves to another a moment later, with a ``refund.updated`` (and ``refund.failed``) webhook.
And it serves a Stripe.js stand-in that confirms a PaymentIntent from the browser as Stripe.js
does: localstripe's own script cannot create a PaymentMethod, and its API neither confirms with one
nor takes the publishable key for it (see ``browser_confirmation_as_stripe_does``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
# Served after localstripe's own script at /js.stripe.com/v3/ (the path of https://js.stripe.com/v3/).
STRIPE_JS_ADDITIONS = Path(__file__).with_name("stripe_js_confirm.js")
# The calls Stripe accepts with a publishable key from the browser (confirming also needs the
# PaymentIntent's client secret); localstripe's own list lacks them.
PUBLISHABLE_KEY_CALLS = re.compile(r"^/v1/(payment_methods|payment_intents/\w+/confirm)$")


@dataclass(frozen=True)
class _Answer:
    request: tuple[str, bytes]  # path and body of the first request with the key
    status: int
    body: bytes
    content_type: str


def idempotency_middleware() -> Callable[..., Awaitable[web.StreamResponse]]:
    """Replay the first answer to a POST's (API key, Idempotency-Key), as Stripe does."""
    from localstripe.errors import UserError

    answers: dict[tuple[str, str], _Answer] = {}

    @web.middleware
    async def replay(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or not request.path.startswith("/v1/"):
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        sent = (request.path, await request.read())
        known = answers.get(scope)
        if known is not None:
            if known.request != sent:
                message = "Keys for idempotent requests can only be used with the same parameters"
                error = {"error": {"type": "idempotency_error", "message": message}}
                return web.json_response(error, status=400)
            return web.Response(
                body=known.body,
                status=known.status,
                content_type=known.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = await handler(request)
        except UserError as error:
            response = error.to_response()
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes) and response.status < 500:
            answers[scope] = _Answer(sent, response.status, body, response.content_type)
        return response

    return replay


# Stripe's test cards that attach fine and decline when charged: number → (decline_code, message).
# localstripe declines them at attach instead, and charges them successfully.
DECLINED_AT_CHARGE = {
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
}


def decline_at_charge_as_stripe_does() -> None:
    """Patch localstripe: attaching the cards above succeeds, charging them declines with reason."""
    from localstripe.errors import UserError
    from localstripe.resources import Charge, PaymentIntent, PaymentMethod

    def card_of(method: Any) -> str | None:
        return getattr(method, "_card_number", None) if method.type == "card" else None

    attaching_is_declined = PaymentMethod._attaching_is_declined
    charging_is_declined = PaymentMethod._charging_is_declined

    def _attaching_is_declined(self: Any) -> bool:
        return card_of(self) not in DECLINED_AT_CHARGE and attaching_is_declined(self)

    def _charging_is_declined(self: Any) -> bool:
        return card_of(self) in DECLINED_AT_CHARGE or charging_is_declined(self)

    set_auth_failure = Charge._set_auth_failure

    def _set_auth_failure(self: Any) -> None:
        set_auth_failure(self)
        card = card_of(PaymentMethod._api_retrieve(self.payment_method))
        if card in DECLINED_AT_CHARGE:
            self._decline_code, self.failure_message = DECLINED_AT_CHARGE[card]

    def _raise_failure(self: Any) -> None:
        # Stripe's card error: type card_error, with the issuer's decline_code beside the code.
        error = {"code": self.failure_code, "charge": self.id}
        if getattr(self, "_decline_code", None):
            error["decline_code"] = self._decline_code
        raised = UserError(402, self.failure_message, error)
        raised.body["error"]["type"] = "card_error"
        raise raised

    last_payment_error = PaymentIntent.last_payment_error.fget

    def _last_payment_error(self: Any) -> dict[str, Any] | None:
        error: dict[str, Any] | None = last_payment_error(self)
        decline_code = getattr(self.latest_charge, "_decline_code", None)
        if error is not None and decline_code and error.get("code") == "card_declined":
            error = {**error, "decline_code": decline_code, "type": "card_error"}
        return error

    PaymentMethod._attaching_is_declined = _attaching_is_declined
    PaymentMethod._charging_is_declined = _charging_is_declined
    Charge._set_auth_failure = _set_auth_failure
    Charge._raise_failure = _raise_failure
    PaymentIntent.last_payment_error = property(_last_payment_error)


def browser_confirmation_as_stripe_does() -> None:
    """Patch localstripe: confirm a PaymentIntent with ``payment_method`` and ``client_secret``.

    Stripe's confirm takes the PaymentMethod and, from Stripe.js, the client secret; localstripe
    answers 500 "Not implemented" to the first and 400 to the second. A PaymentIntent whose last
    attempt failed takes a new PaymentMethod, as Stripe's does. Call before localstripe.server is
    imported: its routes capture the confirm function when they are built.
    """
    from localstripe import resources
    from localstripe.errors import UserError
    from localstripe.resources import PaymentIntent, PaymentMethod

    confirm = PaymentIntent._api_confirm

    def _api_confirm(
        id: str,  # localstripe passes the path's {id} by this name
        payment_method: str | None = None,
        client_secret: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if payment_method is None and client_secret is None:
            return confirm(id, **kwargs)
        intent = PaymentIntent._api_retrieve(id)
        if client_secret is not None and client_secret != intent.client_secret:
            raise UserError(401, "Unauthorized")
        if payment_method is not None:
            if intent.status not in ("requires_payment_method", "requires_confirmation"):
                raise UserError(400, f"This PaymentIntent's status is {intent.status}")
            PaymentMethod._api_retrieve(payment_method)  # 404 if unknown
            intent.payment_method = payment_method
            intent.latest_charge = None  # the failed attempt's charge; a new one follows
        return confirm(id, **kwargs)

    PaymentIntent._api_confirm = staticmethod(_api_confirm)
    route = ("POST", "/v1/payment_intents/{id}/confirm")
    resources.extra_apis[:] = [
        (*route, _api_confirm) if (method, url) == route else (method, url, func)
        for method, url, func in resources.extra_apis
    ]


def publishable_key_calls(auth: Middleware) -> Middleware:
    """Let the browser's publishable key make the calls Stripe lets it make; else ``auth``."""

    @web.middleware
    async def publishable(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and PUBLISHABLE_KEY_CALLS.match(request.path):
            data = await request.post()
            if str(data.get("key", "")).startswith("pk_") and (
                "confirm" not in request.path or data.get("client_secret")
            ):
                return await handler(request)
        return await auth(request, handler)

    return publishable


@web.middleware
async def complete_stripe_js(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Serve localstripe's Stripe.js stand-in followed by ours (devstack/stripe_js_confirm.js)."""
    response = await handler(request)
    if request.path != "/js.stripe.com/v3/" or not isinstance(response, web.Response):
        return response
    return web.Response(
        text=f"{response.text}\n{STRIPE_JS_ADDITIONS.read_text()}",
        content_type="application/javascript",
    )


# Stripe's test cards whose refunds change status after the refund is made: number → (status at
# first, then each later (status, failure_reason, after how many REFUND_CHANGE_SECONDS)).
# localstripe refunds every card at once, for good. 4000000000000077 is ours, not Stripe's: a
# refund that waits for the customer's action (as refunds of some payment methods do) and then
# fails, to prove that only a final failure gives credits back.
RefundChange = tuple[str, str | None, int]
REFUNDS_CHANGING_LATER: dict[str, tuple[str, tuple[RefundChange, ...]]] = {
    "4000000000005126": ("succeeded", (("failed", "expired_or_canceled_card", 1),)),
    "4000000000007726": ("pending", (("succeeded", None, 1),)),
    "4000000000000077": ("pending", (("requires_action", None, 1), ("failed", "declined", 4))),
}
REFUND_CHANGE_SECONDS = 1.0  # Stripe's "some time later"; webhooks then leave a second later


def refunds_change_later_as_stripe_does(delay_seconds: float = REFUND_CHANGE_SECONDS) -> None:
    """Patch localstripe: refunds of the cards above change status later, and say so."""
    from localstripe.errors import UserError
    from localstripe.resources import Charge, Event, PaymentMethod, Refund
    from localstripe.webhooks import schedule_webhook

    def card_refunded(refund: Any) -> str | None:
        try:
            method = PaymentMethod._api_retrieve(Charge._api_retrieve(refund.charge).payment_method)
        except UserError:  # a charge of a source, not of a PaymentMethod
            return None
        return getattr(method, "_card_number", None)

    def change(refund: Any, status: str, failure_reason: str | None) -> None:
        refund.status, refund.failure_reason = status, failure_reason
        schedule_webhook(Event("refund.updated", refund))
        if status == "failed":
            schedule_webhook(Event("refund.failed", refund))

    create = Refund.__init__

    def create_changing_later(self: Any, *args: Any, **kwargs: Any) -> None:
        create(self, *args, **kwargs)
        self.failure_reason = None
        changing = REFUNDS_CHANGING_LATER.get(card_refunded(self) or "")
        if changing is not None:
            first, later = changing
            self.status = first
            for status, failure_reason, after in later:
                asyncio.get_running_loop().call_later(
                    after * delay_seconds, change, self, status, failure_reason
                )

    def amount_refunded(self: Any) -> int:
        # A failed or canceled refund returned nothing: its amount is refundable again.
        returned = [r for r in self.refunds._list if r.status not in ("failed", "canceled")]
        return sum(r.amount for r in returned)

    Refund.__init__ = create_changing_later
    Charge.amount_refunded = property(amount_refunded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()

    from localstripe.resources import store

    browser_confirmation_as_stripe_does()
    from localstripe import server
    from localstripe.server import app

    # No state file: each run starts empty and two stacks never share or corrupt one.
    store.dump_to_disk = lambda: None
    app.middlewares.append(idempotency_middleware())
    app.middlewares[app.middlewares.index(server.auth_middleware)] = publishable_key_calls(
        server.auth_middleware
    )
    app.middlewares.insert(0, complete_stripe_js)
    decline_at_charge_as_stripe_does()
    refunds_change_later_as_stripe_does()

    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=access)


if __name__ == "__main__":
    main()
