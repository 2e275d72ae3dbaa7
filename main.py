"""Cloud Functions entry points: every registered function, re-exported by name.

Each name here is a deployed function's ``--entry-point``; the registry
(``functions/registry.py``) is the one list of them. Entry points load on first access
(PEP 562), so a function's cold start imports its own handler module only: no client is built,
no call is made, and no other endpoint's models are compiled.
"""

from importlib import import_module
from typing import Any

from functions.registry import HTTP_FUNCTIONS, TRIGGER_FUNCTIONS, HttpFunction, TriggerFunction

_ENTRY_POINTS: tuple[HttpFunction | TriggerFunction, ...] = (*HTTP_FUNCTIONS, *TRIGGER_FUNCTIONS)
_MODULES = {function.name: function.module for function in _ENTRY_POINTS}
__all__ = list(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'main' has no entry point {name!r}")
    entry_point = getattr(import_module(_MODULES[name]), name)
    globals()[name] = entry_point  # later lookups skip this function
    return entry_point
