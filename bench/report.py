"""The bench's report: one printed table per section, and the same rows kept for the JSON file.

Its own module so that the sections (``bench/throughput.py``, ``bench/__main__.py``) import it
without importing each other.
"""

from __future__ import annotations

import sys
from typing import Any


class Report:
    def __init__(self) -> None:
        self.sections: dict[str, list[dict[str, Any]]] = {}

    def table(self, section: str, rows: list[dict[str, Any]]) -> None:
        self.sections[section] = rows
        print(f"\n## {section}")
        if not rows:
            print("(nothing measured)")
            return
        columns = list(dict.fromkeys(c for row in rows for c in row))
        widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns))
        for row in rows:
            print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
        sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)
