"""Write ``firebase.json`` from the function registry (``make firebase-json``).

A test keeps the committed file equal to what this renders, so hosting rewrites can never drift
from the registry.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.stack import ROOT, Ports
from functions.registry import hosting

FIREBASE_JSON = ROOT / "firebase.json"


def render() -> dict[str, Any]:
    ports = Ports()
    return {
        "firestore": {"rules": "firestore.rules", "indexes": "firestore.indexes.json"},
        "hosting": hosting(),
        "emulators": {
            "auth": {"host": "127.0.0.1", "port": ports.auth},
            "firestore": {"host": "127.0.0.1", "port": ports.firestore},
            "hub": {"host": "127.0.0.1", "port": ports.hub},
            "logging": {"host": "127.0.0.1", "port": ports.logging},
            "ui": {"enabled": False},
            "singleProjectMode": True,
        },
    }


def main() -> None:
    FIREBASE_JSON.write_text(json.dumps(render(), indent=2) + "\n")
    print(f"wrote {FIREBASE_JSON}")


if __name__ == "__main__":
    main()
