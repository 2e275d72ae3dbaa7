"""Build the Firestore client: once per instance, on first use, never at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud import firestore


def build_firestore_client(project: str, database: str) -> firestore.Client:
    """Return a client for ``project``; FIRESTORE_EMULATOR_HOST, when set, points it locally."""
    from google.cloud import firestore

    return firestore.Client(project=project, database=database)


def ping(client: firestore.Client, timeout_seconds: float) -> None:
    """Make one cheap read so that readiness reflects whether Firestore answers now."""
    client.collection("_health").document("ping").get(timeout=timeout_seconds, retry=None)
