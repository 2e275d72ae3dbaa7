"""Cloud Functions entry points: every registered function, declared with the Firebase SDK.

Each name here is a deployed function (HTTP functions, Firestore triggers and scheduled passes of
``functions/registry.py``); ``functions/declarations.py`` declares each with the Firebase Functions
SDK from the registry, so `firebase deploy` reads every option from the code. Entry points load on
first access (PEP 562), so a function's cold start imports its own handler module only (a deployed
HTTP function or trigger runs its handler as is: ``serving_entry_point``): no client is built, no
call is made, and no other endpoint's models are compiled. ``__dir__`` names them all, because
the CLI's discovery lists this module's functions with ``inspect.getmembers``, which sees only
what ``dir()`` names.
"""

import os
from typing import Any

from functions.declarations import entry_point_names

# Generated from the registry, so ruff cannot see that these are strings.
__all__ = [*entry_point_names()]  # noqa: PLE0604
_ENTRY_POINTS = frozenset(__all__)


def __getattr__(name: str) -> Any:
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module 'main' has no entry point {name!r}")
    from functions.declarations import declare, serving_entry_point

    # A deployed instance (FUNCTION_TARGET set) runs the handler without the SDK's no-op wrapper.
    entry_point = serving_entry_point(name) if "FUNCTION_TARGET" in os.environ else declare(name)
    globals()[name] = entry_point  # later lookups skip this function
    return entry_point


def __dir__() -> list[str]:
    return sorted({*globals(), *_ENTRY_POINTS})
