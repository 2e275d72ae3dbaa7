"""Every Firestore store shares one style: an outage is our 503 from every public method."""

from __future__ import annotations

import inspect

import pytest
from google.api_core import exceptions as gexc

import shared.adapters as adapters_package
from shared.adapters.firestore_client import FirestoreStore, race_lost
from shared.errors import Unavailable


class Flaky(FirestoreStore):
    def read(self) -> None:
        raise gexc.ServiceUnavailable("down")  # type: ignore[no-untyped-call]

    def create(self) -> None:
        raise gexc.AlreadyExists("taken")  # type: ignore[no-untyped-call]

    def _inner(self) -> None:
        raise gexc.DeadlineExceeded("slow")  # type: ignore[no-untyped-call]


def test_an_outage_in_any_public_method_of_a_store_is_unavailable() -> None:
    store = Flaky(client=object())  # type: ignore[arg-type]
    with pytest.raises(Unavailable):
        store.read()
    with pytest.raises(race_lost()):  # a lost race is not an outage: callers decide
        store.create()
    with pytest.raises(gexc.DeadlineExceeded):  # private helpers run inside a public method
        store._inner()


def test_every_firestore_store_inherits_the_one_base() -> None:
    import importlib
    import pkgutil

    stores = []
    for module_info in pkgutil.iter_modules(adapters_package.__path__):
        if not module_info.name.startswith("firestore_"):
            continue
        module = importlib.import_module(f"shared.adapters.{module_info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and name.startswith("Firestore"):
                stores.append(cls)
    assert len(stores) >= 13
    assert [s.__name__ for s in stores if not issubclass(s, FirestoreStore)] == []
