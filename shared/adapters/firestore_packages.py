"""Credit packages stored in ``credit_packages`` (seeded by ``devstack.seed``)."""

from __future__ import annotations

import logging

from shared.adapters.firestore_client import FirestoreStore
from shared.errors import InvalidRequest
from shared.purchases.packages import CreditPackage, PackageCatalog

PACKAGES = "credit_packages"
log = logging.getLogger("billing.packages")


class FirestorePackages(FirestoreStore, PackageCatalog):
    def stored(self) -> list[CreditPackage]:
        docs = list(self._db.collection(PACKAGES).stream(**self._rpc))
        packages = []
        for doc in docs:
            data = doc.to_dict() or {}
            if data.get("active", True) is not True:
                continue
            package = CreditPackage(doc.id, str(data.get("name", doc.id)), data.get("amount", 0))
            try:
                package.quote  # noqa: B018 - a package outside the purchase rules is not on sale
            except InvalidRequest:
                log.warning("skipping invalid stored package", extra={"package_id": doc.id})
                continue
            packages.append(package)
        return packages
