"""Firestore CloudEvents in their production shape: protobuf ``DocumentEventData``.

Google delivers Firestore triggers (``google.cloud.firestore.document.v1.created`` and friends) as
CloudEvents whose data is a serialized ``google.events.cloud.firestore.v1.DocumentEventData``.
``decode_document_event`` turns that into plain Python values for trigger functions; the encoder
is its mirror, used by the local trigger relay and by tests to build the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.events.cloud.firestore_v1.types import (
    ArrayValue,
    Document,
    DocumentEventData,
    MapValue,
    Value,
)

CREATED = "google.cloud.firestore.document.v1.created"
WRITTEN = "google.cloud.firestore.document.v1.written"


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A decoded Firestore event: the document's path and its fields after and before."""

    path: str  # e.g. credit_transactions/alice_0000000001
    value: dict[str, Any] | None
    old_value: dict[str, Any] | None

    @property
    def collection(self) -> str:
        return self.path.rsplit("/", 2)[-2]

    @property
    def document_id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def document_path(name: str) -> str:
    """Strip ``projects/p/databases/d/documents/`` from a full document name."""
    marker = "/documents/"
    return name.split(marker, 1)[1] if marker in name else name


def decode_document_event(data: bytes) -> DocumentChange:
    """Decode a Firestore event's data; ``ValueError`` if it is not one (callers drop it)."""
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        event = DocumentEventData.deserialize(data)
    except (DecodeError, TypeError) as exc:
        raise ValueError("not a Firestore DocumentEventData") from exc
    value = _fields(event.value) if event.value.name else None
    old_value = _fields(event.old_value) if event.old_value.name else None
    name = event.value.name or event.old_value.name
    return DocumentChange(document_path(name), value, old_value)


def encode_document_event(
    name: str,
    value: Mapping[str, Any] | None,
    old_value: Mapping[str, Any] | None = None,
) -> bytes:
    """Serialize a DocumentEventData for the document called ``name`` (full resource name)."""
    event = DocumentEventData()
    if value is not None:
        event.value = Document(name=name, fields={k: to_value(v) for k, v in value.items()})
    if old_value is not None:
        event.old_value = Document(name=name, fields={k: to_value(v) for k, v in old_value.items()})
    return bytes(DocumentEventData.serialize(event))


def cloud_event_headers(
    event_type: str,
    project: str,
    path: str,
    *,
    database: str = "(default)",
    event_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, str]:
    """Return binary-mode CloudEvent HTTP headers as Eventarc sends them for Firestore."""
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id or uuid.uuid4().hex,
        "ce-type": event_type,
        "ce-source": f"//firestore.googleapis.com/projects/{project}/databases/{database}",
        "ce-subject": f"documents/{path}",
        "ce-time": (time or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "ce-project": project,
        "ce-database": database,
        "ce-namespace": "(default)",
        "ce-document": path,
        "ce-location": "us-central1",
        "Content-Type": "application/protobuf",
    }


def full_name(project: str, path: str, database: str = "(default)") -> str:
    return f"projects/{project}/databases/{database}/documents/{path}"


def to_value(value: Any) -> Value:  # noqa: PLR0911 - one branch per Firestore type
    if value is None:
        return Value(null_value=0)
    if isinstance(value, bool):
        return Value(boolean_value=value)
    if isinstance(value, int):
        return Value(integer_value=value)
    if isinstance(value, float):
        return Value(double_value=value)
    if isinstance(value, str):
        return Value(string_value=value)
    if isinstance(value, bytes):
        return Value(bytes_value=value)
    if isinstance(value, datetime):
        return Value(timestamp_value=value)
    if isinstance(value, list | tuple):
        return Value(array_value=ArrayValue(values=[to_value(v) for v in value]))
    if isinstance(value, Mapping):
        return Value(map_value=MapValue(fields={k: to_value(v) for k, v in value.items()}))
    raise TypeError(f"cannot encode {type(value).__name__} as a Firestore value")


def from_value(value: Value) -> Any:
    kind = Value.pb(value).WhichOneof("value_type")
    if kind in (None, "null_value"):
        return None
    if kind == "array_value":
        return [from_value(v) for v in value.array_value.values]
    if kind == "map_value":
        return {k: from_value(v) for k, v in value.map_value.fields.items()}
    if kind == "timestamp_value":
        stamp = value.timestamp_value
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    if kind == "integer_value":
        return int(value.integer_value)
    return getattr(value, kind)


def _fields(document: Document) -> dict[str, Any]:
    return {k: from_value(v) for k, v in document.fields.items()}
