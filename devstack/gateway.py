"""Serve every HTTP function at its public path, each through its own functions-framework app.

Routing comes from the one registry, like Firebase Hosting's rewrites do in production: the
function receives the request at its public path, unchanged. Private (service) functions are
reached as Cloud Run's front end lets callers reach them: the IAM invoker check of
``devstack.front_end`` admits the role's accounts only and strips the token's signature. Other
GETs are the billing portal's files, as Hosting serves its public folder (devstack.portal_site).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.serving import make_server

from devstack.front_end import InvokerCheck
from functions.registry import HTTP_FUNCTIONS, HttpFunction
from shared.access.auth import ServiceAccess
from shared.config import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from devstack.portal_site import serve_portal
from devstack.stack import ROOT


def werkzeug_rule(path: str) -> str:
    """Turn a registry path (``/api/payment/{id}``) into a werkzeug rule (``/api/payment/<id>``)."""
    return "/".join(f"<{p.strip('{}')}>" if p.startswith("{") else p for p in path.split("/"))


class PathSegment(BaseConverter):
    """A {param}: one path segment without control characters.

    functions-framework's own router does not match those, and would answer with an HTML 404.
    """

    regex = "[^/\\x00-\\x1f\\x7f]+"


def build_gateway(
    settings: Settings | None = None, *, cloud_run_front_end: bool = True
) -> WSGIApplication:
    """The gateway; ``cloud_run_front_end=False`` leaves out the IAM invoker check (in-process
    tests whose fake service tokens stand for tokens Cloud Run has already checked)."""
    import functions_framework

    settings = settings or Settings.from_environment()
    access = ServiceAccess.from_settings(
        settings.metering_service_accounts,
        settings.scheduler_service_accounts,
        settings.service_names,
    )
    check = InvokerCheck(access, settings.service_audience, settings.service_certs_url)

    def front_end(
        function: HttpFunction, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | None:
        return check(function, environ, start_response) if cloud_run_front_end else None

    functions = {function.name: function for function in HTTP_FUNCTIONS}
    apps: dict[str, Any] = {}
    rules = []
    for function in HTTP_FUNCTIONS:
        apps[function.name] = functions_framework.create_app(  # type: ignore[no-untyped-call]
            function.name, str(ROOT / "main.py"), "http"
        )
        rules += [Rule(werkzeug_rule(path), endpoint=function.name) for path in function.paths]
    # Literal paths win over {param} paths, as in the hosting rewrites' order.
    routes = Map(rules, strict_slashes=False, converters={"default": PathSegment})

    def gateway(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            name, _ = routes.bind_to_environ(environ).match(method=None)
        except HTTPException as error:
            page = serve_portal(environ, start_response)
            if page is not None:
                return page
            body = b'{"error": {"code": "not_found", "message": "no such endpoint", "details": {}}}'
            start_response(
                f"{error.code} Not Found",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        refused = front_end(functions[str(name)], environ, start_response)
        if refused is not None:
            return refused
        app: WSGIApplication = apps[str(name)]
        return app(environ, start_response)

    return gateway


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args()
    server = make_server("127.0.0.1", args.port, build_gateway(), threaded=True)
    print(f"gateway listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
