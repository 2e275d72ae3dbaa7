"""The few Cloud Logging query-language filters our metrics use, evaluated on local log lines.

A function writes one JSON line per event to stdout; Cloud Logging turns the line into an entry
whose ``jsonPayload`` is the line without its special keys (``severity``, ``logging.googleapis.com/
...``). ``matches`` judges a metric's filter on such a line exactly as production would, for the
only grammar the metrics need (anything else is refused, so a filter cannot quietly mean less
here than there):

    FILTER    := CONDITION ( " AND " CONDITION )*
    CONDITION := jsonPayload.KEY[.KEY...] OP VALUE
    OP        := =  !=  >=  >  <=  <
    VALUE     := "a double-quoted string" | a number

``=`` on a string is equality (as in the query language); numbers compare as numbers; a field
that is missing or of the other type never matches (Cloud Logging's comparisons behave so too).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYLOAD = "jsonPayload."
# Keys of a structured line that Cloud Logging lifts out of jsonPayload into the entry itself.
SPECIAL_KEYS = frozenset({"severity", "time", "timestamp"})
SPECIAL_PREFIX = "logging.googleapis.com/"

_CONDITION = re.compile(
    r"^jsonPayload\.(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?P<op>>=|<=|!=|=|>|<)\s*"
    r'(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)$'
)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class UnsupportedFilter(ValueError):
    """A filter outside the documented subset."""


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: str | float

    def holds(self, payload: Mapping[str, Any]) -> bool:
        found = payload_value(payload, self.path)
        if isinstance(self.value, str):
            if not isinstance(found, str) or self.op not in ("=", "!="):
                return False
        elif isinstance(found, bool) or not isinstance(found, int | float):
            return False
        return _OPERATORS[self.op](found, self.value)


def parse_filter(text: str) -> list[Condition]:
    conditions = []
    for part in text.split(" AND "):
        match = _CONDITION.match(part.strip())
        if match is None:
            raise UnsupportedFilter(f"not in the supported subset: {part.strip()!r}")
        raw = match["value"]
        value: str | float = json.loads(raw) if raw.startswith('"') else float(raw)
        conditions.append(Condition(tuple(match["path"].split(".")), match["op"], value))
    return conditions


def payload_value(payload: Mapping[str, Any], path: Iterable[str]) -> Any:
    """The value at ``path`` in ``payload``, or None when it is missing."""
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def json_payload(line: Mapping[str, Any]) -> dict[str, Any]:
    """What Cloud Logging keeps as ``jsonPayload`` of a structured stdout line."""
    return {
        k: v for k, v in line.items() if k not in SPECIAL_KEYS and not k.startswith(SPECIAL_PREFIX)
    }


def matches(text: str, payload: Mapping[str, Any]) -> bool:
    return all(condition.holds(payload) for condition in parse_filter(text))


def payloads(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """The jsonPayload of every structured line in the log files (other lines are skipped)."""
    for path in paths:
        with path.open(errors="replace") as lines:
            for line in lines:
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    yield json_payload(entry)
