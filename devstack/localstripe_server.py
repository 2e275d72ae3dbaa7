"""Run localstripe (third-party fake Stripe) on 127.0.0.1 only, from a clean in-memory store.

localstripe's own ``start()`` binds every interface and reloads (and keeps rewriting) a state file
shared by every instance on the machine (/tmp/localstripe.pickle); this launcher does neither.

localstripe ignores ``Idempotency-Key``; Stripe does not, and our retries (and the SDK's own
network retries) rely on it. This launcher adds Stripe's documented behaviour: a POST whose key
was seen before gets the first answer again (``Idempotent-Replayed: true``) without running
again; the same key with other parameters is a 400 ``idempotency_error``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class _Answer:
    request: tuple[str, bytes]  # path and body of the first request with the key
    status: int
    body: bytes
    content_type: str


def idempotency_middleware() -> Callable[..., Awaitable[web.StreamResponse]]:
    """Replay the first answer to a POST's (API key, Idempotency-Key), as Stripe does."""
    from localstripe.errors import UserError

    answers: dict[tuple[str, str], _Answer] = {}

    @web.middleware
    async def replay(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or not request.path.startswith("/v1/"):
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        sent = (request.path, await request.read())
        known = answers.get(scope)
        if known is not None:
            if known.request != sent:
                message = "Keys for idempotent requests can only be used with the same parameters"
                error = {"error": {"type": "idempotency_error", "message": message}}
                return web.json_response(error, status=400)
            return web.Response(
                body=known.body,
                status=known.status,
                content_type=known.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = await handler(request)
        except UserError as error:
            response = error.to_response()
        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes) and response.status < 500:
            answers[scope] = _Answer(sent, response.status, body, response.content_type)
        return response

    return replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()

    from localstripe.resources import store
    from localstripe.server import app

    # No state file: each run starts empty and two stacks never share or corrupt one.
    store.dump_to_disk = lambda: None
    app.middlewares.append(idempotency_middleware())

    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=access)


if __name__ == "__main__":
    main()
