"""Serve every HTTP function at its public path, each through its own functions-framework app.

Routing comes from the one registry, like Firebase Hosting's rewrites do in production: the
function receives the request at its public path, unchanged. Other GETs are the billing portal's
files, as Hosting serves its public folder (devstack.portal_site).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.serving import make_server

from functions.registry import HTTP_FUNCTIONS

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


def build_gateway() -> WSGIApplication:
    import functions_framework

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
