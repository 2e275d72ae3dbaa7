"""Structured JSON logs in Cloud Logging's format, with a correlation id per request."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

_request_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "request_context", default=None
)

# LogRecord attributes that are not user-supplied ``extra`` fields.
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class CloudLoggingFormatter(logging.Formatter):
    """Format a record as one JSON line that Cloud Logging parses into a structured entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        entry.update(_request_context.get() or {})
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Send the service's logs to stdout as JSON lines (idempotent)."""
    root = logging.getLogger("billing")
    if not any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(CloudLoggingFormatter())
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level.upper())


def bind_request(correlation_id: str, trace_header: str | None, project: str) -> None:
    """Attach the request's correlation id and Cloud Trace id to every log line it writes."""
    context = {"correlation_id": correlation_id}
    if trace_header:
        trace_id = trace_header.split("/", 1)[0]
        context["logging.googleapis.com/trace"] = f"projects/{project}/traces/{trace_id}"
    _request_context.set(context)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"billing.{name}")
