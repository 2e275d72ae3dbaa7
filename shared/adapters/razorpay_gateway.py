"""Razorpay through its official SDK: the only module that imports ``razorpay``.

The SDK client is built on first use, pointed at ``razorpay_base_url`` when set (the local
sandbox). Every SDK or transport error becomes our ``ProviderError`` (502); a refusal (4xx)
becomes ``ProviderRejected``, which callers may treat as a conclusive answer. Signatures are
checked here with ``hmac.compare_digest``, not with the SDK's helpers, so the comparison is
constant time by construction. Webhooks are verified and parsed here too: the domain receives a
``ProviderEvent``, never Razorpay's JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from typing import Any, TypeVar

from shared.errors import InvalidRequest, ProviderError, ProviderRejected, SignatureInvalid
from shared.ids import require_document_id
from shared.log import get_logger
from shared.payments.providers import (
    CheckoutRefundGateway,
    ProviderEvent,
    ProviderOrder,
    ProviderPayment,
    ProviderPaymentStatus,
    ProviderRefund,
    RefundStatus,
)

T = TypeVar("T")
log = get_logger("webhooks")
# Razorpay's documented header that makes a refund request safe to retry: the same key and body
# get the first refund back (a different body is refused).
REFUND_IDEMPOTENCY_HEADER = "X-Refund-Idempotency"
# A refund's states at Razorpay, in Stripe's words: processed is done, failed is final.
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "processed": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
}
REFUNDS_PER_PAGE = 100  # Razorpay's maximum count


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class RazorpayGateway(CheckoutRefundGateway):
    name = "razorpay"

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        base_url: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._base_url = base_url
        self._timeout = timeout_seconds

    @cached_property
    def client(self) -> Any:
        import razorpay

        if not self.key_id or not self._key_secret:
            raise ProviderError("Razorpay is not configured on this service")
        options = {"base_url": self._base_url} if self._base_url else {}
        return razorpay.Client(auth=(self.key_id, self._key_secret), **options)

    def create_order(
        self, order_id: str, amount: int, currency: str, notes: Mapping[str, str]
    ) -> ProviderOrder:
        data = {
            "amount": amount,
            "currency": currency.upper(),
            # Our order id as a unique receipt: Razorpay's documented way to make a create safe
            # to retry. A retry whose first answer was lost finds the order made then.
            "receipt": order_id,
            "unique_receipt": True,
            "notes": dict(notes),
        }
        try:
            created = self._call(lambda: self.client.order.create(data, timeout=self._timeout))
        except ProviderRejected:
            # Refused (4xx), e.g. "receipt should be unique": an earlier attempt made the order.
            # An outage (5xx, timeout) is not looked into: the client's retry comes back here.
            created = self._order_with_receipt(order_id, amount, currency)
            if created is None:
                raise
        return ProviderOrder(
            id=str(created["id"]),
            amount=int(created["amount"]),
            currency=str(created["currency"]).lower(),
            receipt=created.get("receipt"),
        )

    def _order_with_receipt(self, receipt: str, amount: int, currency: str) -> Any:
        """The order an earlier attempt created for ``receipt``, if it is the same purchase."""
        found = self._call(
            lambda: self.client.order.all({"receipt": receipt}, timeout=self._timeout)
        )
        for order in found.get("items", []):
            same = int(order["amount"]) == amount and str(order["currency"]).lower() == currency
            if order.get("receipt") == receipt and same:
                return order
        return None

    def fetch_payment(self, payment_id: str) -> ProviderPayment:
        return self._call(
            lambda: _payment(self.client.payment.fetch(payment_id, timeout=self._timeout))
        )

    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        found = self._call(
            lambda: self.client.order.payments(provider_order_id, timeout=self._timeout)
        )
        return self._call(lambda: [_payment(item) for item in found.get("items") or []])

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment:
        data = {"currency": currency.upper()}  # a fresh dict: the SDK mutates its argument
        return self._call(
            lambda: _payment(
                self.client.payment.capture(payment_id, amount, data, timeout=self._timeout)
            )
        )

    def refund_payment(
        self, payment_id: str, amount: int, notes: Mapping[str, str], idempotency_key: str
    ) -> ProviderRefund:
        data = {"amount": amount, "speed": "normal", "notes": dict(notes)}
        headers = {REFUND_IDEMPOTENCY_HEADER: idempotency_key}
        return self._call(
            lambda: _refund(
                self.client.payment.refund(payment_id, data, headers=headers, timeout=self._timeout)
            )
        )

    def refunds_of(self, provider_order_id: str) -> list[ProviderRefund]:
        """Every refund of the order's captured payments, whoever made it."""
        refunded = (ProviderPaymentStatus.CAPTURED, ProviderPaymentStatus.REFUNDED)
        payments = [p for p in self.order_payments(provider_order_id) if p.status in refunded]
        return [refund for p in payments for refund in self._payment_refunds(p.id)]

    def _payment_refunds(self, payment_id: str) -> list[ProviderRefund]:
        def fetch() -> list[ProviderRefund]:
            page = self.client.payment.fetch_multiple_refund(
                payment_id, {"count": REFUNDS_PER_PAGE}, timeout=self._timeout
            )
            return [_refund(item) for item in page.get("items") or []]

        return self._call(fetch)

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        if not self._key_secret:
            return False
        expected = hmac_hex(self._key_secret, f"{order_id}|{payment_id}".encode())
        return hmac.compare_digest(expected.encode(), signature.encode())

    def verify_event(
        self, body: bytes, signature: str | None, event_id: str | None
    ) -> ProviderEvent:
        """Check the signature over the raw body, then parse; dedupe on ``x-razorpay-event-id``."""
        if not signature or not self._webhook_signature_valid(body, signature):
            log.warning("webhook signature invalid", extra={"provider": self.name})
            raise SignatureInvalid("X-Razorpay-Signature", "does not match the body")
        if event_id is not None:
            require_document_id(event_id, "x-razorpay-event-id")  # it names our dedupe record
        event_id = event_id or "body-" + hashlib.sha256(body).hexdigest()
        try:
            return event_from_razorpay(event_id, json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidRequest(
                "body: not a Razorpay event", {"fields": {"body": "invalid"}}
            ) from exc

    def _webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        if not self._webhook_secret:
            return False
        expected = hmac_hex(self._webhook_secret, body)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _call(self, request: Callable[[], T]) -> T:
        with _provider_errors():
            return request()


def _payment(data: Mapping[str, Any]) -> ProviderPayment:
    return ProviderPayment(
        id=str(data["id"]),
        order_id=data.get("order_id"),
        amount=int(data["amount"]),
        currency=str(data["currency"]).lower(),
        status=ProviderPaymentStatus(data["status"]),
    )


def _refund(data: Mapping[str, Any]) -> ProviderRefund:
    status = _REFUND_STATUS[str(data["status"])]
    notes = data.get("notes")
    return ProviderRefund(
        id=str(data["id"]),
        amount=int(data["amount"]),
        created=int(data.get("created_at") or 0),
        returning_money=status is not RefundStatus.FAILED,
        status=status,
        notes={str(k): str(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {},
        payment_id=str(data["payment_id"]) if data.get("payment_id") else None,
    )


def event_from_razorpay(event_id: str, body: Mapping[str, Any]) -> ProviderEvent:
    """Convert a Razorpay webhook (JSON) into the neutral event the domain applies."""
    name = str(body["event"])
    payload = body.get("payload") or {}
    payment = _entity(payload, "payment")
    refund = _entity(payload, "refund")
    dispute = _entity(payload, "dispute")
    event = ProviderEvent(
        provider=RazorpayGateway.name,
        id=event_id,
        type=name,
        payment=_payment(payment) if payment else None,
        decline_code=payment.get("error_code") if payment else None,
        failure_message=payment.get("error_description") if payment else None,
    )
    if refund and payment:
        amount = int(refund["amount"])
        event = replace(
            event,
            # Refunds are processed one at a time: the payment's total refunded includes this one.
            refund=ProviderRefund(
                str(refund["id"]),
                amount,
                int(refund.get("created_at") or 0),
                refund.get("status") != "failed",
                _REFUND_STATUS.get(str(refund.get("status"))),
                payment_id=str(refund.get("payment_id") or payment["id"]),
            ),
            refunded_before=int(payment.get("amount_refunded") or amount) - amount,
        )
    if dispute:
        fields = ("id", "status", "amount", "amount_deducted", "reason_code", "payment_id")
        event = replace(event, dispute={key: dispute.get(key) for key in fields})
    return event


def _entity(payload: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    wrapper = payload.get(kind)
    entity = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
    return entity if isinstance(entity, Mapping) else None


@contextmanager
def _provider_errors() -> Iterator[None]:
    import razorpay
    import requests

    try:
        yield
    except razorpay.errors.BadRequestError as exc:  # a 4xx: asking again gets the same answer
        raise ProviderRejected(
            "Razorpay refused the request", {"provider_message": str(exc)}
        ) from exc
    except (
        razorpay.errors.ServerError,
        razorpay.errors.GatewayError,
        razorpay.errors.SignatureVerificationError,
        requests.RequestException,
        ValueError,
        KeyError,
    ) as exc:
        raise ProviderError("Razorpay did not answer as expected; retry later") from exc
