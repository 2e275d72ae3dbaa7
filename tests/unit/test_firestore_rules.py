"""``firestore.rules`` keeps docs/api.md's promises, checked on the rules text.

What is checked here is structure: every ``allow`` grants reads only, a catch-all denies the rest,
each collection a client must read is matched, and ownership compares ``request.auth.uid`` to the
document id or to the owner field the code really writes. How the rules *behave* against real
requests needs the official Firestore emulator (Java 21 and a jar from a host unreachable here);
behavioural rules tests (``@firebase/rules-unit-testing``) are therefore not part of this suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = (ROOT / "firestore.rules").read_text()

# Collections a signed-in client reads (docs/api.md and issue 6), with how the owner is named:
# "id" means the document id is the uid; otherwise the field holding the owner's uid, and the
# adapter module that writes documents of that collection (the field must be written there).
CLIENT_READABLE: dict[str, tuple[str, str]] = {
    "user_credits": ("id", "shared/adapters/firestore_ledger_codec.py"),
    "credit_transactions": ("user_id", "shared/adapters/firestore_ledger.py"),
    "credit_orders": ("user_id", "shared/adapters/firestore_orders.py"),
    "payments": ("owner_uid", "shared/adapters/firestore_payments.py"),
    "low_balance_alerts": ("user_id", "shared/adapters/firestore_alerts.py"),
}
CATALOG = {"credit_packages"}  # not anyone's data: any signed-in user may read the packages


@dataclass(frozen=True)
class Allow:
    path: str  # the full match path, e.g. /databases/{database}/documents/payments/{paymentId}
    methods: tuple[str, ...]
    condition: str


def allows(text: str) -> list[Allow]:
    """Every ``allow`` statement with the match path it sits in (nesting followed by braces)."""
    found: list[Allow] = []
    stack: list[str] = []  # one entry per open brace: the match path it opened, or ""
    tokens = re.finditer(
        r"match\s+(?P<match>\S+)\s*\{|allow\s+(?P<methods>[\w\s,]+):\s*if\s+(?P<cond>[^;]+);"
        r"|(?P<open>\{)|(?P<close>\})",
        text,
    )
    for token in tokens:
        if token["match"]:
            stack.append(token["match"])
        elif token["open"]:
            stack.append("")
        elif token["close"]:
            stack.pop()
        else:
            methods = tuple(m.strip() for m in token["methods"].split(","))
            path = "".join(stack)
            found.append(Allow(path, methods, " ".join(token["cond"].split())))
    assert not stack, "unbalanced braces in firestore.rules"
    return found


def functions(text: str) -> dict[str, tuple[list[str], str]]:
    pattern = r"function\s+(\w+)\(([^)]*)\)\s*\{\s*return\s+([^;]+);\s*\}"
    return {
        name: ([a.strip() for a in args.split(",") if a.strip()], " ".join(body.split()))
        for name, args, body in re.findall(pattern, text)
    }


def collection_of(path: str) -> str:
    return path.removeprefix("/databases/{database}/documents").split("/")[1]


def test_rules_version_2_and_a_catch_all_deny() -> None:
    assert re.search(r"rules_version\s*=\s*'2'", RULES)
    catch_all = [a for a in allows(RULES) if a.path.endswith("/{document=**}")]
    assert catch_all == [
        Allow("/databases/{database}/documents/{document=**}", ("read", "write"), "false")
    ]


def test_no_client_write_anywhere() -> None:
    for allow in allows(RULES):
        if allow.condition == "false":
            continue
        assert set(allow.methods) <= {"read", "get", "list"}, allow


def test_ownership_helpers_compare_the_signed_in_uid() -> None:
    helpers = functions(RULES)
    assert helpers["signedIn"] == ([], "request.auth != null")
    args, body = helpers["owns"]
    assert body == f"signedIn() && request.auth.uid == {args[0]}"


def test_each_client_readable_collection_is_readable_by_its_owner_only() -> None:
    by_collection = {collection_of(a.path): a for a in allows(RULES) if a.condition != "false"}
    assert set(by_collection) == set(CLIENT_READABLE) | CATALOG
    for collection, (owner, writer) in CLIENT_READABLE.items():
        allow = by_collection[collection]
        assert allow.path.count("/") == 5 and "**" not in allow.path, f"{collection}: one level"
        if owner == "id":
            doc_var = allow.path.rsplit("/", 1)[1].strip("{}")
            assert allow.condition == f"owns({doc_var})", allow
        else:
            assert allow.condition == f"owns(resource.data.{owner})", allow
            assert f'"{owner}"' in (ROOT / writer).read_text(), f"{writer} never writes {owner}"
    for collection in CATALOG:
        assert by_collection[collection].condition == "signedIn()"


def test_the_rules_name_the_collections_the_code_uses() -> None:
    """A renamed collection in the code must not leave the rules guarding an empty name."""
    from shared.adapters.firestore_accounts import USER_CREDITS as ACCOUNTS
    from shared.adapters.firestore_alerts import LOW_BALANCE_ALERTS
    from shared.adapters.firestore_ledger_codec import TRANSACTIONS
    from shared.adapters.firestore_orders import ORDERS
    from shared.adapters.firestore_packages import PACKAGES
    from shared.adapters.firestore_payments import PAYMENTS

    used = {ACCOUNTS, TRANSACTIONS, ORDERS, PAYMENTS, LOW_BALANCE_ALERTS, PACKAGES}
    assert used == set(CLIENT_READABLE) | CATALOG
