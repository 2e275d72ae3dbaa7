"""The billing portal as Firebase Hosting serves it, for the local gateway.

Hosting serves the static files of ``portal/`` (its public folder in ``firebase.json``) beside the
rewrites, and answers its reserved ``/__/firebase/init.json`` with the project's web config. Locally
the same page talks to the emulators and sandboxes, so two answers are made here from the stack's
settings instead: ``/__/firebase/init.json`` (the demo project) and ``/config.json`` (the Auth and
Firestore emulators and the stand-ins of Razorpay Checkout and Stripe.js). Nothing in either is a
secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Response

from devstack.stack import ROOT
from functions.registry import HOSTING_PUBLIC

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PORTAL = ROOT / HOSTING_PUBLIC
FIREBASE_INIT_PATH = "/__/firebase/init.json"
CONFIG_PATH = "/config.json"
# The Auth emulator accepts any API key; a real project's key is public too (it names the project).
LOCAL_API_KEY = "demo-key"


def firebase_init(environ: Mapping[str, str]) -> dict[str, str]:
    """What Hosting's reserved init.json holds for the local demo project."""
    project = environ.get("FIREBASE_PROJECT_ID", "demo-billing")
    return {
        "apiKey": LOCAL_API_KEY,
        "authDomain": f"{project}.firebaseapp.com",
        "projectId": project,
    }


def local_config(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The page's config.json under the local stack: the same keys as the committed one."""
    auth_host = environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    firestore_host = environ.get("FIRESTORE_EMULATOR_HOST")
    razorpay = environ.get("RAZORPAY_BASE_URL", "")
    stripe = environ.get("STRIPE_API_BASE", "")
    return {
        "baseUrl": "",  # the API is on the page's own origin, as behind Hosting's rewrites
        "authEmulatorUrl": f"http://{auth_host}" if auth_host else None,
        # host:port of the Firestore emulator, for the live balance (connectFirestoreEmulator).
        "firestoreEmulatorHost": firestore_host or None,
        # Each sandbox serves its stand-in at the production script's host and path.
        "razorpayCheckoutUrl": f"{razorpay}/checkout.razorpay.com/v1/checkout.js",
        "stripeJsUrl": f"{stripe}/js.stripe.com/v3/",
    }


def _json(payload: object) -> Response:
    return Response(
        json.dumps(payload), mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def serve_portal(
    environ: WSGIEnvironment, start_response: StartResponse, root: Path = PORTAL
) -> Iterable[bytes] | None:
    """Answer a GET for a portal file (``/`` is index.html); None when there is none."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    path = environ.get("PATH_INFO", "/")
    if path == FIREBASE_INIT_PATH:
        return _json(firebase_init(os.environ))(environ, start_response)
    if path == CONFIG_PATH:
        return _json(local_config(os.environ))(environ, start_response)
    name = "index.html" if path == "/" else path.lstrip("/")
    try:
        response = send_from_directory(root, name, environ, max_age=0)
    except NotFound:
        return None
    return response(environ, start_response)
