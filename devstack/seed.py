"""Seed the local Firestore with the default credit packages (idempotent)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.purchases.packages import DEFAULT_PACKAGES

PACKAGES = "credit_packages"


def seed_default_packages(env: Mapping[str, str]) -> int:
    """Write every default package to ``credit_packages``; return how many."""
    os.environ.update(env)
    from google.cloud import firestore

    client = firestore.Client(project=env["FIREBASE_PROJECT_ID"])
    batch = client.batch()
    for package in DEFAULT_PACKAGES:
        batch.set(
            client.collection(PACKAGES).document(package.id),
            {"name": package.name, "amount": package.amount, "currency": "inr", "active": True},
        )
    batch.commit()
    return len(DEFAULT_PACKAGES)
