"""One refund-reservation engine for both products: card payments and credit orders.

Every refund of a payment (a card payment's PaymentIntent, a credit order's payment) goes:

1. **reserve**: reservation ``n`` of the payment is the deterministic document ``{id}_{n:04d}``,
   created as the first write of its commit (docs/ledger.md's concurrency rule), so of two
   concurrent refunds only one gets number ``n`` and the other re-reads and recounts. A retry of
   the same request (same Idempotency-Key) reuses its reservation instead of taking another.
2. **ask** the provider with an idempotency key derived from the reservation and the
   reservation's id in the refund's metadata: an answer lost after the provider acted is never
   a second refund. A refusal of a first attempt frees the amount; a refusal of a retry keeps it
   counted (the first attempt may still be under way, as Razorpay answers 409 while it works).
3. **settle** lost answers: before reserving anew, reservations still unconfirmed are matched to
   the refunds in the provider's own list by the reservation id in their metadata.

What is refundable (``refundable``) is the payment's total less the money that is going back or
may still: a refund the provider lists counts by its own state, so **a failed (or canceled)
refund frees its amount**; a reservation the provider does not list counts by its amount (its
answer was lost, it is under way, or the list lags: that can refuse too much, never refund too
much); and refunds made elsewhere (a provider's dashboard) count too.

Pure, apart from the store port it is handed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from shared.errors import ProviderRejected, Unavailable, invalid_field

MAX_RESERVATION_ATTEMPTS = 20
# The refund's metadata key that ties a provider refund to the reservation it was made for.
RESERVATION_METADATA_KEY = "billing_reservation_id"


class ReservationStatus(StrEnum):
    RESERVED = "reserved"  # counted against the payment; the provider call is under way
    SUCCEEDED = "succeeded"  # the provider made the refund (its own state says where it is)
    RELEASED = "released"  # the provider refused: the amount is refundable again


class Reservation(Protocol):
    """What the engine reads of a product's reservation (each product stores its own fields)."""

    @property
    def id(self) -> str: ...

    @property
    def number(self) -> int: ...

    @property
    def amount(self) -> int: ...

    @property
    def status(self) -> ReservationStatus: ...

    @property
    def refund_id(self) -> str | None: ...

    @property
    def request_key(self) -> str | None: ...


R = TypeVar("R", bound=Reservation)


def reservation_id(payment_id: str, number: int) -> str:
    return f"{payment_id}_{number:04d}"


@dataclass(frozen=True, slots=True)
class ListedRefund:
    """A refund as the provider lists it, in the engine's terms."""

    id: str
    amount: int
    returning_money: bool  # False only once it failed or was canceled: nothing goes back
    reservation_id: str | None = None  # from its metadata, when we made it


class ReservationStore(ABC, Generic[R]):
    """Port: where a product keeps the reservations of its refunds."""

    @abstractmethod
    def reservations(self, payment_id: str) -> list[R]: ...

    @abstractmethod
    def reserve(self, reservation: R) -> bool:
        """Create the reservation; False when a concurrent refund took its number first."""

    @abstractmethod
    def release(self, reservation: R, reason: str) -> None:
        """Free the amount: the provider refused, nothing was refunded."""


def live(reservation: Reservation) -> bool:
    return reservation.status is not ReservationStatus.RELEASED


def refundable(
    total: int, reservations: Sequence[Reservation], listed: Sequence[ListedRefund]
) -> int:
    """What is left to refund of a payment of ``total``: see the module's rule."""
    by_id = {r.id: r for r in listed}
    counted: set[str] = set()
    taken = 0
    for reservation in reservations:
        if not live(reservation):
            continue
        refund = by_id.get(reservation.refund_id or "")
        if refund is None:
            taken += reservation.amount
            continue
        counted.add(refund.id)
        taken += refund.amount if refund.returning_money else 0  # a failed one frees its amount
    taken += sum(r.amount for r in listed if r.returning_money and r.id not in counted)
    return total - taken


def amount_to_reserve(left: int, amount: int | None) -> int:
    """The amount of the next reservation when ``left`` is refundable, or a 400 naming it."""
    if left <= 0:
        raise invalid_field("amount", "nothing left to refund")
    wanted = left if amount is None else amount
    if wanted > left:
        raise invalid_field("amount", f"at most {left} is refundable")
    return wanted


def next_number(reservations: Sequence[Reservation]) -> int:
    return max((r.number for r in reservations), default=0) + 1


def reserve(
    store: ReservationStore[R],
    payment_id: str,
    *,
    request_key: str | None,
    settle: Callable[[list[R]], list[R]],
    same_request: Callable[[R], None],
    new: Callable[[list[R]], R],
) -> tuple[R, bool]:
    """Reuse this request's live reservation (True), or claim the next number (False).

    ``settle`` completes the unconfirmed reservations the provider lists (``unconfirmed``);
    ``same_request`` refuses a reused key whose request differs; ``new`` decides the next
    reservation from the settled ones (``refundable``, ``next_number``) or raises a 400.
    A loser of the race for a number re-reads and recounts.
    """
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        existing = settle(store.reservations(payment_id))
        for earlier in existing:
            if live(earlier) and request_key is not None and earlier.request_key == request_key:
                same_request(earlier)
                return earlier, True
        reservation = new(existing)
        if store.reserve(reservation):
            return reservation, False
    raise Unavailable("the payment is busy with other refunds; retry", {"retryable": True})


def unconfirmed(
    reservations: Sequence[R], listed: Sequence[ListedRefund]
) -> list[tuple[R, ListedRefund]]:
    """The reservations still waiting for an answer that the provider lists a refund for."""
    made_for = {r.reservation_id: r for r in listed if r.reservation_id}
    return [
        (reservation, made_for[reservation.id])
        for reservation in reservations
        if reservation.status is ReservationStatus.RESERVED and reservation.id in made_for
    ]


T = TypeVar("T")


def ask_provider(
    store: ReservationStore[R], reservation: R, refund: Callable[[], T], *, retried: bool
) -> T:
    """Ask for the reservation's refund; a refusal of its first attempt frees the amount.

    A retry's refusal keeps it counted: the first attempt may still be under way at the
    provider, and only the provider's list of refunds settles that.
    """
    try:
        return refund()
    except ProviderRejected as error:
        if not retried:
            store.release(reservation, error.message)  # refused: nothing was refunded
        raise
