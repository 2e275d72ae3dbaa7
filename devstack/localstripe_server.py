"""Run localstripe (third-party fake Stripe) on 127.0.0.1 only, from a clean in-memory store.

localstripe's own ``start()`` binds every interface and reloads (and keeps rewriting) a state file
shared by every instance on the machine (/tmp/localstripe.pickle); this launcher does neither.
It also makes the test cards in ``DECLINED_AT_CHARGE`` behave as Stripe documents them.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()

    from aiohttp import web
    from localstripe.resources import store
    from localstripe.server import app

    # No state file: each run starts empty and two stacks never share or corrupt one.
    store.dump_to_disk = lambda: None
    decline_at_charge_as_stripe_does()

    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=access)


if __name__ == "__main__":
    main()
