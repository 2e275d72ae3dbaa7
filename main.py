"""Cloud Functions entry points: every registered function, re-exported by name.

Each name here is a deployed function's ``--entry-point``. The registry
(``functions/registry.py``) is the one list of them; importing this module imports the thin
handler modules only, so it builds no client and makes no call.
"""

from importlib import import_module

from functions.registry import HTTP_FUNCTIONS, TRIGGER_FUNCTIONS, HttpFunction, TriggerFunction

_ENTRY_POINTS: tuple[HttpFunction | TriggerFunction, ...] = (*HTTP_FUNCTIONS, *TRIGGER_FUNCTIONS)
__all__ = [function.name for function in _ENTRY_POINTS]

for _function in _ENTRY_POINTS:
    globals()[_function.name] = getattr(import_module(_function.module), _function.name)
