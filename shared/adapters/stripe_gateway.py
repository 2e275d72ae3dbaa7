"""Stripe, the only module that imports the ``stripe`` SDK.

It pins the API version, talks minor units only, verifies and converts webhooks, converts
Stripe's objects and status words into the gateway-neutral dataclasses of
``shared.payments.records``
and ``shared.payments.providers``, and turns every SDK error into ours: a declined card into
``CardDeclined``, a refusal of the client's own input (an unknown PaymentMethod) into a 400
naming the field, another refusal into ``ProviderRejected``, anything else into
``ProviderError`` (502). ``api_base`` points it at localstripe for local runs and tests.

localstripe refuses parameters it does not know (``description``, ``receipt_email`` on a
PaymentIntent, ``reason`` on a refund); we send only the documented core and keep those fields on
our own records.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.errors import (
    InvalidRequest,
    ProviderError,
    ProviderRejected,
    SignatureInvalid,
    invalid_field,
)
from shared.log import get_logger
from shared.payments.providers import GatewayRefund, ProviderEvent, RefundStatus
from shared.payments.records import CardDeclined, GatewayIntent, PaymentRequest, PaymentStatus
from shared.payments.refunds import RefundGateway

if TYPE_CHECKING:
    import stripe

API_VERSION = "2026-10-28.endive"  # the version stripe==16.1.0 is generated for
WEBHOOK_TOLERANCE_SECONDS = 300
log = get_logger("webhooks")

# What a client sends to /api/payment/process that Stripe may refuse.
PAYMENT_FIELDS = frozenset({"amount", "currency", "payment_method", "metadata"})
_CHARGE_EVENT_STATUS = {
    "charge.succeeded": PaymentStatus.SUCCEEDED,
    "charge.failed": PaymentStatus.FAILED,
}


class StripeGateway(RefundGateway):
    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout_seconds: float = 20.0,
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._api_base = api_base
        self._timeout = timeout_seconds

    @cached_property
    def _client(self) -> stripe.StripeClient:
        import stripe

        if not self._secret_key:
            raise ProviderError("Stripe is not configured (STRIPE_SECRET_KEY is empty)")
        return stripe.StripeClient(
            self._secret_key,
            stripe_version=API_VERSION,
            base_addresses={"api": self._api_base} if self._api_base else None,
            max_network_retries=2,  # the SDK resends with the same idempotency key
            http_client=stripe.RequestsClient(timeout=self._timeout),
        )

    def create_intent(self, request: PaymentRequest, idempotency_key: str) -> GatewayIntent:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "payment_method": request.payment_method,
            "metadata": dict(request.metadata),
        }
        with _converted_errors(client_fields=PAYMENT_FIELDS):
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return intent_from_stripe(intent.to_dict())

    def create_credit_intent(
        self, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayIntent:
        """Create an unconfirmed PaymentIntent that the client confirms with Stripe.js."""
        params = {"amount": amount, "currency": currency, "metadata": dict(metadata)}
        with _converted_errors():
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return intent_from_stripe(intent.to_dict())

    def confirm_intent(self, intent_id: str, idempotency_key: str) -> GatewayIntent:
        import stripe

        try:
            with _converted_errors(decline_passes=True, client_fields=PAYMENT_FIELDS):
                intent = self._client.v1.payment_intents.confirm(
                    intent_id, options={"idempotency_key": idempotency_key}
                )
        except stripe.CardError as error:
            body = error.error.to_dict() if error.error else {}
            raise CardDeclined(
                code=error.code or "card_declined",
                decline_code=body.get("decline_code") or error.code,
                message=error.user_message or "the card was declined",
            ) from error
        return intent_from_stripe(intent.to_dict())

    def retrieve_intent(self, intent_id: str) -> GatewayIntent:
        with _converted_errors():
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        return intent_from_stripe(intent.to_dict())

    def create_refund(
        self, intent_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
    ) -> GatewayRefund:
        params = {"payment_intent": intent_id, "amount": amount, "metadata": dict(metadata)}
        with _converted_errors():
            refund = self._client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return refund_from_stripe(refund.to_dict())

    def retrieve_refund(self, refund_id: str) -> GatewayRefund:
        with _converted_errors():
            refund = self._client.v1.refunds.retrieve(refund_id)
        return refund_from_stripe(refund.to_dict())

    def refunds_of(self, intent_id: str) -> list[GatewayRefund]:
        params = {"payment_intent": intent_id, "limit": 100}
        with _converted_errors():
            page = self._client.v1.refunds.list(params=params)  # type: ignore[arg-type]
            return [refund_from_stripe(r.to_dict()) for r in page.auto_paging_iter()]

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        import stripe

        try:
            stripe.WebhookSignature.verify_header(
                body, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            log.warning("webhook signature invalid", extra={"provider": "stripe"})
            raise SignatureInvalid("Stripe-Signature", str(error.user_message)) from error
        import json

        try:
            return event_from_stripe(json.loads(body))
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidRequest(
                "body: not a Stripe event", {"fields": {"body": "not a Stripe event"}}
            ) from error


def status_from_stripe(stripe_status: str, has_payment_error: bool) -> PaymentStatus:
    """Map Stripe's PaymentIntent status to ours: a declined attempt is ``failed``."""
    if stripe_status == "requires_payment_method" and has_payment_error:
        return PaymentStatus.FAILED
    return PaymentStatus(stripe_status)


def intent_from_stripe(data: Mapping[str, Any]) -> GatewayIntent:
    error = data.get("last_payment_error") or {}
    charge = data.get("latest_charge")
    return GatewayIntent(
        id=data["id"],
        amount=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        status=status_from_stripe(str(data["status"]), bool(error)),
        client_secret=data.get("client_secret"),
        amount_received=int(data.get("amount_received") or 0),
        # Stripe sends the charge id; localstripe expands it to the object.
        latest_charge=charge.get("id") if isinstance(charge, Mapping) else charge,
        decline_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def refund_from_stripe(data: Mapping[str, Any]) -> GatewayRefund:
    return GatewayRefund(
        id=data["id"],
        payment_intent_id=str(data.get("payment_intent") or ""),
        amount=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        status=RefundStatus(data.get("status") or "pending"),
        failure_reason=data.get("failure_reason"),
        created=int(data.get("created") or 0),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def event_from_stripe(body: Mapping[str, Any]) -> ProviderEvent:
    """Convert a Stripe event (JSON) into the fields our handlers use."""
    event_type, obj = str(body["type"]), body["data"]["object"]
    base: dict[str, Any] = {
        "provider": "stripe",
        "id": str(body["id"]),
        "type": event_type,
        "created": body["created"],
    }
    if event_type.startswith("payment_intent."):
        intent = intent_from_stripe(obj)
        return ProviderEvent(
            **base,
            payment_intent_id=intent.id,
            intent=intent,
            payment_status=intent.status,
            decline_code=intent.decline_code,
            failure_message=intent.failure_message,
            metadata=intent.metadata,
        )
    if event_type in _CHARGE_EVENT_STATUS or event_type == "charge.refunded":
        refunds = (obj.get("refunds") or {}).get("data") or []
        return ProviderEvent(
            **base,
            payment_intent_id=obj.get("payment_intent"),
            payment_status=_CHARGE_EVENT_STATUS.get(event_type),
            decline_code=obj.get("failure_code"),
            failure_message=obj.get("failure_message"),
            refunds=tuple(refund_from_stripe(r) for r in refunds),
            metadata=obj.get("metadata") or {},
        )
    if event_type.startswith("refund.") or event_type == "charge.refund.updated":
        refund = refund_from_stripe(obj)
        return ProviderEvent(
            **base, payment_intent_id=refund.payment_intent_id or None, refunds=(refund,)
        )
    if event_type.startswith("charge.dispute."):
        dispute = {
            key: obj.get(key) for key in ("id", "status", "amount", "currency", "reason", "charge")
        }
        return ProviderEvent(**base, payment_intent_id=obj.get("payment_intent"), dispute=dispute)
    if event_type.startswith("checkout.session."):
        session = {
            key: obj.get(key)
            for key in ("id", "status", "payment_status", "payment_intent", "amount_total")
        }
        return ProviderEvent(
            **base,
            payment_intent_id=obj.get("payment_intent"),
            checkout_session=session,
            metadata=obj.get("metadata") or {},
        )
    return ProviderEvent(**base)


class _converted_errors:  # noqa: N801 - used as a statement, reads like one
    """Turn Stripe SDK errors into ours; with ``decline_passes`` a CardError goes through.

    With ``client_fields`` (a call made of the client's input), a refusal is the client's 400:
    it names the parameter Stripe names, else ``payment_method``, the one reference Stripe can
    fail to find or use (localstripe names none). Only outages stay 502.
    """

    def __init__(
        self, decline_passes: bool = False, client_fields: frozenset[str] = frozenset()
    ) -> None:
        self._decline_passes = decline_passes
        self._client_fields = client_fields

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        import stripe

        if exc is None or not isinstance(exc, stripe.StripeError):
            return
        if self._decline_passes and isinstance(exc, stripe.CardError):
            return
        details = {"provider": "stripe", "provider_code": exc.code, "http_status": exc.http_status}
        message = f"Stripe: {exc.user_message or type(exc).__name__}"
        if self._client_fields and isinstance(exc, stripe.InvalidRequestError):
            param = getattr(exc, "param", None)
            field = param if param in self._client_fields else "payment_method"
            problem = f"refused by Stripe: {exc.user_message or exc.code or 'unusable'}"
            raise invalid_field(field, problem) from exc
        if isinstance(exc, stripe.InvalidRequestError | stripe.CardError):
            raise ProviderRejected(message, details) from exc
        raise ProviderError(message, details) from exc
