"""Razorpay through its official SDK: the only module that imports ``razorpay``.

The SDK client is built on first use, pointed at ``razorpay_base_url`` when set (the local
sandbox). Every SDK or transport error becomes our ``ProviderError`` (502); a refusal (4xx)
becomes ``ProviderRejected``, which callers may treat as a conclusive answer. Signatures are
checked here with ``hmac.compare_digest``, not with the SDK's helpers, so the comparison is
constant time by construction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from shared.checkout import CheckoutGateway, ProviderOrder, ProviderPayment
from shared.errors import ProviderError, ProviderRejected

T = TypeVar("T")


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class RazorpayGateway(CheckoutGateway):
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
        except ProviderError:
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
        payment = self._call(lambda: self.client.payment.fetch(payment_id, timeout=self._timeout))
        return _payment(payment)

    def order_payments(self, provider_order_id: str) -> list[ProviderPayment]:
        found = self._call(
            lambda: self.client.order.payments(provider_order_id, timeout=self._timeout)
        )
        return self._call(lambda: [_payment(item) for item in found.get("items") or []])

    def capture_payment(self, payment_id: str, amount: int, currency: str) -> ProviderPayment:
        data = {"currency": currency.upper()}  # a fresh dict: the SDK mutates its argument
        payment = self._call(
            lambda: self.client.payment.capture(payment_id, amount, data, timeout=self._timeout)
        )
        return _payment(payment)

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        if not self._key_secret:
            return False
        expected = hmac_hex(self._key_secret, f"{order_id}|{payment_id}".encode())
        return hmac.compare_digest(expected.encode(), signature.encode())

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
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
        status=str(data["status"]),
    )


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
