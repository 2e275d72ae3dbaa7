"""Call a deployed entry point of main.py in this process, as functions-framework would."""

from __future__ import annotations

from typing import Any

import flask

from shared import bootstrap
from shared.bootstrap import ServiceParts, Services
from shared.config import Settings


def wire_with_client(client: Any) -> Services:
    """Install services that use ``client`` for Firestore (e.g. an RPC-counting one)."""
    services = Services(Settings.from_environment(), overrides=ServiceParts(firestore=client))
    bootstrap.override(services)
    return services


def invoke(
    function_name: str,
    method: str = "GET",
    *,
    path: str = "/",
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: bytes | None = None,
) -> flask.Response:
    import main

    function = getattr(main, function_name)
    app = flask.Flask("bench")
    with app.test_request_context(path, method=method, headers=headers, json=json, data=data):
        response: flask.Response = function(flask.request)
        return response
