"""Payments, refunds, disputes and their outbox notifications on Firestore.

Every change that others may race on is guarded by the *create* of a deterministic document,
placed first in its commit (docs/ledger.md's concurrency rule; no transactions):
- a payment reaching a status: ``payment_transitions/{pi}_{status}``; the status itself is kept
  as a map of every state reached, keyed by rank, so concurrent writers merge, never regress;
- a refund's claim on the payment: ``payment_refunds/{pi}_{n}`` (see ``RefundReservation``);
- a refund's completion: ``refunds/{refund_id}``; a refund reaching a status:
  ``payment_transitions/{refund_id}_{status}`` (its first status too, so the webhook or verify
  that reports the same status later finds it taken and writes no second notification);
- a dispute's status: ``payment_transitions/{pi}_{dispute_id}_{status}``.
Refund and dispute statuses are kept like a payment's: every state reached under its own key,
the current one the highest-ranked, so a late event never moves them back.
A payment's ``amount_refunded`` counts only refunds that return money: each refund's completion
adds its amount once (guarded by the refund's create), and a refund that failed or was canceled
for good is listed under ``refunds_failed.{refund_id}`` with its amount, subtracted when read (a
merge of the same value: replays and both of ``canceled`` and ``failed`` take it off once; a late
``succeeded`` never puts it back, as refund states only move forward).
The outbox document rides in the same commit, after the guard, so a notification exists exactly
when its state change does. It is created, never overwritten: a delivered notification is never
made pending again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.adapters.firestore_client import FirestoreStore, field_filter, race_lost
from shared.adapters.firestore_outbox import OUTBOX, outbox_document
from shared.payments.disputes import disputes_view
from shared.payments.outbox import OutboxMessage
from shared.payments.providers import (
    FINAL_REFUND_FAILURES,
    GatewayRefund,
    RefundStatus,
    current_refund_status,
)
from shared.payments.records import (
    GatewayIntent,
    Payment,
    PaymentRequest,
    PaymentStatus,
    current_status,
)
from shared.payments.refund_reservations import ReservationStatus
from shared.payments.refunds import Refund, RefundReservation, RefundStore

PAYMENTS = "payments"
TRANSITIONS = "payment_transitions"
RESERVATIONS = "payment_refunds"
REFUNDS = "refunds"
CHECKOUT_SESSIONS = "stripe_checkout_sessions"


class FirestorePayments(FirestoreStore, RefundStore):
    def create_payment(
        self, intent: GatewayIntent, request: PaymentRequest, owner_uid: str | None
    ) -> None:
        now = self._clock()
        # Fields localstripe refuses (description, receipt email) live on our record only.
        data = {
            **_intent_fields(intent),
            "owner_uid": owner_uid,
            "description": request.description,
            "customer_email": request.customer_email,
            "created_at": now,
            "updated_at": now,
            "reconcile_from": now,  # the reconciliation queue (firestore_reconciliation)
            "states": {_rank_key(intent.status): {"status": intent.status.value, "at": now}},
        }
        self._doc(PAYMENTS, intent.id).set(data, merge=True, **self._rpc)

    def record_status(
        self,
        payment_intent_id: str,
        status: PaymentStatus,
        details: Mapping[str, Any],
        notify: OutboxMessage | None,
        intent: GatewayIntent | None = None,
    ) -> bool:
        now = self._clock()
        state = {"status": status.value, "at": now, **details}
        fields: dict[str, Any] = {"states": {_rank_key(status): state}, "updated_at": now}
        if intent is not None:
            fields.update(_intent_fields(intent))
        batch = self._db.batch()
        batch.create(
            self._doc(TRANSITIONS, f"{payment_intent_id}_{status.value}"),
            {"payment_intent_id": payment_intent_id, "status": status.value, "at": now},
        )
        batch.set(self._doc(PAYMENTS, payment_intent_id), fields, merge=True)
        self._add_outbox(batch, notify, now)
        return self._commit_guarded(batch)

    def payment(self, payment_intent_id: str) -> Payment | None:
        snapshot = self._doc(PAYMENTS, payment_intent_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        if not data or "amount" not in data:
            return None
        return payment_from_document(payment_intent_id, data)

    def reservations(self, payment_intent_id: str) -> list[RefundReservation]:
        query = self._db.collection(RESERVATIONS).where(
            filter=field_filter("payment_intent_id", "==", payment_intent_id)
        )
        return [_reservation(d.to_dict() or {}) for d in query.stream(**self._rpc)]

    def reserve(self, reservation: RefundReservation) -> bool:
        batch = self._db.batch()
        batch.create(
            self._doc(RESERVATIONS, reservation.id),
            {
                "payment_intent_id": reservation.payment_intent_id,
                "number": reservation.number,
                "amount": reservation.amount,
                "reserved_total": reservation.reserved_total,
                "status": ReservationStatus.RESERVED.value,
                "request_key": reservation.request_key,
                "reason": reservation.reason,
                "created_at": self._clock(),
            },
        )
        return self._commit_guarded(batch)

    def complete_refund(
        self, reservation: RefundReservation | None, refund: Refund, notify: OutboxMessage | None
    ) -> bool:
        from google.cloud import firestore

        now = self._clock()
        batch = self._db.batch()
        batch.create(self._doc(REFUNDS, refund.refund_id), _refund_document(refund, now))
        if reservation is not None:  # None: a refund made outside our API (the Dashboard)
            batch.set(
                self._doc(RESERVATIONS, reservation.id),
                {"status": ReservationStatus.SUCCEEDED.value, "refund_id": refund.refund_id},
                merge=True,
            )
        refunded: dict[str, Any] = {
            "amount_refunded": firestore.Increment(refund.amount),
            "updated_at": now,
        }
        if refund.status in FINAL_REFUND_FAILURES:  # settled after it had already failed
            refunded["refunds_failed"] = {refund.refund_id: refund.amount}
        batch.set(self._doc(PAYMENTS, refund.payment_intent_id), refunded, merge=True)
        # Last, so that losing it (a webhook already reported this status: the emulator applies
        # writes one by one) skips only the notification the webhook already wrote.
        batch.create(
            self._doc(TRANSITIONS, f"{refund.refund_id}_{refund.status.value}"),
            {"refund_id": refund.refund_id, "status": refund.status.value, "at": now},
        )
        self._add_outbox(batch, notify, now)
        return self._commit_guarded(batch)

    def release(self, reservation: RefundReservation, reason: str) -> None:
        self._doc(RESERVATIONS, reservation.id).set(
            {"status": ReservationStatus.RELEASED.value, "released_because": reason},
            merge=True,
            **self._rpc,
        )

    def refund(self, refund_id: str) -> Refund | None:
        snapshot = self._doc(REFUNDS, refund_id).get(**self._rpc)
        data = snapshot.to_dict() if snapshot.exists else None
        return _refund_from_document(data) if data else None

    def update_refund(self, refund: GatewayRefund, notify: OutboxMessage | None) -> bool:
        now = self._clock()
        batch = self._db.batch()
        batch.create(
            self._doc(TRANSITIONS, f"{refund.id}_{refund.status.value}"),
            {"refund_id": refund.id, "status": refund.status.value, "at": now},
        )
        batch.set(
            self._doc(REFUNDS, refund.id),
            {"states": _refund_state(refund.status, now), "updated_at": now},
            merge=True,
        )
        if refund.status in FINAL_REFUND_FAILURES:  # no money goes back: off amount_refunded
            batch.set(
                self._doc(PAYMENTS, refund.payment_intent_id),
                {"refunds_failed": {refund.id: refund.amount}, "updated_at": now},
                merge=True,
            )
        self._add_outbox(batch, notify, now)
        return self._commit_guarded(batch)

    def record_dispute(
        self, payment_intent_id: str, dispute: Mapping[str, Any], notify: OutboxMessage | None
    ) -> bool:
        now = self._clock()
        dispute_id, status = str(dispute["id"]), str(dispute.get("status"))
        batch = self._db.batch()
        batch.create(
            self._doc(TRANSITIONS, f"{payment_intent_id}_{dispute_id}_{status}"),
            {"payment_intent_id": payment_intent_id, "dispute_id": dispute_id, "at": now},
        )
        batch.set(
            self._doc(PAYMENTS, payment_intent_id),
            {
                "disputes": {dispute_id: {"states": {status: {**dispute, "updated_at": now}}}},
                "updated_at": now,
            },
            merge=True,
        )
        self._add_outbox(batch, notify, now)
        return self._commit_guarded(batch)

    def record_checkout_session(self, session: Mapping[str, Any], event_type: str) -> None:
        self._doc(CHECKOUT_SESSIONS, str(session["id"])).set(
            {**session, "last_event": event_type, "updated_at": self._clock()},
            merge=True,
            **self._rpc,
        )

    def _doc(self, collection: str, document_id: str) -> Any:
        return self._db.collection(collection).document(document_id)

    def _add_outbox(self, batch: Any, notify: OutboxMessage | None, now: datetime) -> None:
        if notify is not None:
            batch.create(self._doc(OUTBOX, notify.id), outbox_document(notify, now))

    def _commit_guarded(self, batch: Any) -> bool:
        """Commit; False when the guard (the first create) was already taken."""
        try:
            batch.commit(**self._rpc)
        except race_lost():
            return False
        return True


def payment_from_document(payment_intent_id: str, data: Mapping[str, Any]) -> Payment:
    states = {
        int(key.removeprefix("r")): value for key, value in (data.get("states") or {}).items()
    }
    status = current_status(states) if states else PaymentStatus.REQUIRES_CONFIRMATION
    state = states.get(status.rank, {})
    return Payment(
        payment_intent_id=payment_intent_id,
        amount=int(data["amount"]),
        currency=data["currency"],
        status=status,
        owner_uid=data.get("owner_uid"),
        client_secret=data.get("client_secret"),
        description=data.get("description"),
        metadata=dict(data.get("metadata") or {}),
        customer_email=data.get("customer_email"),
        decline_code=state.get("decline_code"),
        failure_message=state.get("failure_message"),
        amount_refunded=refunded_amount(data),
        disputes=disputes_view(data.get("disputes") or {}),
        created_at=data.get("created_at"),
        updated_at=data.get("updated_at"),
    )


def refunded_amount(data: Mapping[str, Any]) -> int:
    """What the payment's refunds return: all completed, less those that failed for good."""
    failed = data.get("refunds_failed") or {}
    return int(data.get("amount_refunded", 0)) - sum(int(a) for a in failed.values())


def _intent_fields(intent: GatewayIntent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "payment_intent_id": intent.id,
        "amount": intent.amount,
        "currency": intent.currency,
        "metadata": dict(intent.metadata),
    }
    if intent.client_secret:
        fields["client_secret"] = intent.client_secret
    return fields


def _rank_key(status: PaymentStatus) -> str:
    return f"r{status.rank}"


def _reservation(data: Mapping[str, Any]) -> RefundReservation:
    return RefundReservation(
        payment_intent_id=data["payment_intent_id"],
        number=int(data["number"]),
        amount=int(data["amount"]),
        reserved_total=int(data.get("reserved_total", 0)),
        status=ReservationStatus(data.get("status", "reserved")),
        refund_id=data.get("refund_id"),
        request_key=data.get("request_key"),
        reason=data.get("reason"),
    )


def _refund_document(refund: Refund, now: datetime) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "payment_intent_id": refund.payment_intent_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "states": _refund_state(refund.status, now),
        "owner_uid": refund.owner_uid,
        "reason": refund.reason,
        "metadata": dict(refund.metadata),
        "reservation_id": refund.reservation_id,
        "created_at": now,
        "updated_at": now,
    }


def _refund_state(status: RefundStatus, now: datetime) -> dict[str, Any]:
    return {f"r{status.rank}": {"status": status.value, "at": now}}


def _refund_from_document(data: Mapping[str, Any]) -> Refund:
    states = {
        int(key.removeprefix("r")): value for key, value in (data.get("states") or {}).items()
    }
    return Refund(
        refund_id=data["refund_id"],
        payment_intent_id=data["payment_intent_id"],
        amount=int(data["amount"]),
        currency=data["currency"],
        status=current_refund_status(states) if states else RefundStatus(data["status"]),
        owner_uid=data.get("owner_uid"),
        reason=data.get("reason"),
        metadata=dict(data.get("metadata") or {}),
        reservation_id=data.get("reservation_id"),
        created_at=data.get("created_at"),
        updated_at=data.get("updated_at"),
    )
