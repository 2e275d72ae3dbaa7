"""Run localstripe (third-party fake Stripe) on 127.0.0.1 only, from a clean in-memory store.

localstripe's own ``start()`` binds every interface and reloads (and keeps rewriting) a state file
shared by every instance on the machine (/tmp/localstripe.pickle); this launcher does neither.
"""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()

    from aiohttp import web
    from localstripe.resources import store
    from localstripe.server import app

    # No state file: each run starts empty and two stacks never share or corrupt one.
    store.dump_to_disk = lambda: None

    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=access)


if __name__ == "__main__":
    main()
