from datetime import UTC, datetime

from shared.adapters.firestore_events import (
    CREATED,
    cloud_event_headers,
    decode_document_event,
    encode_document_event,
    full_name,
)


def test_a_document_survives_the_round_trip_through_protobuf() -> None:
    fields = {
        "user_id": "alice",
        "seq": 7,
        "amount": -1_000_000_000_000,
        "ok": True,
        "nothing": None,
        "created_at": datetime(2026, 11, 21, 5, 0, 1, 123000, tzinfo=UTC),
        "source": {"provider": "razorpay", "ids": ["a", 1]},
    }
    name = full_name("demo-x", "credit_transactions/alice_0000000007")
    data = encode_document_event(name, fields)
    change = decode_document_event(data)
    assert change.path == "credit_transactions/alice_0000000007"
    assert change.collection == "credit_transactions"
    assert change.document_id == "alice_0000000007"
    assert change.value == fields
    assert change.old_value is None


def test_amounts_stay_integers() -> None:
    data = encode_document_event(full_name("p", "c/d"), {"amount": 5})
    assert type(decode_document_event(data).value["amount"]) is int  # type: ignore[index]


def test_headers_name_the_document() -> None:
    headers = cloud_event_headers(CREATED, "demo-x", "credit_transactions/a_0000000001")
    assert headers["ce-type"] == CREATED
    assert headers["ce-subject"] == "documents/credit_transactions/a_0000000001"
    assert headers["Content-Type"] == "application/protobuf"
