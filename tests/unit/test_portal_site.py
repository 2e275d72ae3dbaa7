"""The billing portal's files as Hosting publishes them and as the local gateway serves them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from werkzeug.test import create_environ

from devstack.firebase_json import FIREBASE_JSON
from devstack.portal_site import PORTAL, firebase_init, local_config, serve_portal
from devstack.stack import ROOT

LOCAL_ENV = {
    "FIREBASE_PROJECT_ID": "demo-billing",
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
    "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080",
    "RAZORPAY_BASE_URL": "http://127.0.0.1:9010",
    "STRIPE_API_BASE": "http://127.0.0.1:8420",
}


def get(path: str, method: str = "GET") -> tuple[str, dict[str, str], bytes] | None:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer.update(status=status, headers=dict(headers))
        return lambda data: None

    body = serve_portal(create_environ(path, method=method), start_response)
    if body is None:
        return None
    try:
        content = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()  # as a WSGI server does: the file is closed
    return answer["status"], answer["headers"], content


def test_hosting_publishes_the_portal_folder() -> None:
    hosting = json.loads(FIREBASE_JSON.read_text())["hosting"]
    public = ROOT / hosting["public"]
    assert public == PORTAL
    assert (public / "index.html").is_file()
    # The SDK bundle is the SDK's own build, linked in (Hosting follows the link at deploy).
    bundle = public / "sdk" / "billing-client.js"
    assert bundle.is_symlink() and bundle.resolve() == ROOT / "sdk" / "dist" / "billing-client.js"
    assert bundle.is_file()


def test_the_local_config_has_the_committed_configs_keys_and_no_secret() -> None:
    committed = json.loads((PORTAL / "config.json").read_text())
    local = local_config(LOCAL_ENV)
    assert set(local) == set(committed)
    assert committed == {
        "baseUrl": "",
        "authEmulatorUrl": None,
        "firestoreEmulatorHost": None,  # production: Firestore of the web config
        "razorpayCheckoutUrl": "https://checkout.razorpay.com/v1/checkout.js",
        "stripeJsUrl": "https://js.stripe.com/v3/",
    }
    # The stand-ins sit at the production scripts' paths on the sandboxes.
    assert local == {
        "baseUrl": "",
        "authEmulatorUrl": "http://127.0.0.1:9099",
        "firestoreEmulatorHost": "127.0.0.1:8080",
        "razorpayCheckoutUrl": "http://127.0.0.1:9010/checkout.razorpay.com/v1/checkout.js",
        "stripeJsUrl": "http://127.0.0.1:8420/js.stripe.com/v3/",
    }
    assert set(firebase_init(LOCAL_ENV)) == {"apiKey", "authDomain", "projectId"}


def test_nothing_the_page_loads_holds_a_secret() -> None:
    secret = re.compile(
        r"sk_(test|live)_|rzp_(test|live)_\w+|whsec_|key_secret|BEGIN PRIVATE", re.I
    )
    for path in PORTAL.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".json", ".css"}:
            assert not secret.search(path.read_text()), path


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/js/main.js", "text/javascript"),
        ("/sdk/billing-client.js", "text/javascript"),
        ("/styles.css", "text/css"),
    ],
)
def test_the_gateway_serves_the_portal_files(path: str, content_type: str) -> None:
    served = get(path)
    assert served is not None
    status, headers, body = served
    assert status.startswith("200")
    # Browsers run ES modules only when served with a JavaScript type.
    assert headers["Content-Type"].startswith(content_type)
    assert body


def test_the_gateway_answers_hostings_reserved_init_json_and_the_local_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in LOCAL_ENV.items():
        monkeypatch.setenv(name, value)
    for path, expected in [
        ("/__/firebase/init.json", firebase_init(LOCAL_ENV)),
        ("/config.json", local_config(LOCAL_ENV)),
    ]:
        served = get(path)
        assert served is not None
        assert json.loads(served[2]) == expected


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/no-such-file.js", "GET"),
        ("/../firebase.json", "GET"),
        ("/js/../../devstack/stack.py", "GET"),
        ("/index.html", "POST"),
    ],
)
def test_anything_else_falls_through_to_the_api_router(path: str, method: str) -> None:
    assert get(path, method) is None


def test_every_module_the_portal_imports_is_there() -> None:
    imports = re.compile(r"""(?:import|from)\s*['"](\.{1,2}/[^'"]+)['"]""")
    modules = [PORTAL / "js" / "main.js", *(PORTAL / "js").glob("*.js")]
    for module in modules:
        for target in imports.findall(module.read_text()):
            assert (module.parent / target).resolve().is_file(), f"{module.name} imports {target}"
    html = (PORTAL / "index.html").read_text()
    for src in re.findall(r'(?:src|href)="([^":#]+)"', html):
        assert (PORTAL / src).is_file(), src


def test_the_portals_states_are_the_gst_state_codes() -> None:
    from shared.invoices.gstin import STATES

    text = (PORTAL / "js" / "states.js").read_text()
    assert dict(re.findall(r"'(\d{2})': '([^']+)'", text)) == STATES
