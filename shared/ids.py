"""Ids that become Firestore document ids: one published pattern, which production accepts.

Firestore refuses a document id that contains ``/``, is ``.`` or ``..``, matches ``__.*__`` or
is longer than 1,500 bytes. Ours are stricter and simple to state: 1-255 ASCII letters, digits
and ``_.:@+=-``, starting with a letter or digit, so none of those can ever reach a write. The
pattern has no look-arounds, so JSON Schema, pydantic and ``re`` all read it the same way.
"""

from __future__ import annotations

import re

from shared.errors import invalid_field

DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+=-]{0,254}$"
DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)
ID_PROBLEM = f"must match {DOCUMENT_ID_PATTERN} (1-255 letters, digits or _.:@+=-)"
# The name a service reports usage and holds under (a metering caller's allow-listed services).
SERVICE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def is_document_id(value: object) -> bool:
    return isinstance(value, str) and DOCUMENT_ID.match(value) is not None


def require_document_id(value: object, field: str) -> str:
    """Return ``value`` if it can name a document, else a 400 naming ``field``."""
    if not isinstance(value, str) or not is_document_id(value):
        raise invalid_field(field, ID_PROBLEM)
    return value
