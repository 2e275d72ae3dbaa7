"""``firestore.rules``, enforced: what a Firebase app may read and write, asked of the emulator.

Google's Cloud Firestore emulator judges every request that is not the administrator's by the
rules file it was started with (the stack passes ``--rules=firestore.rules``). Each row of
``RULES`` below is one request a client SDK can make, sent over the emulator's REST API with an
Auth-emulator ID token, and the status it must get: 200 allowed, 403 refused. The owner's
documents are written first by the service's own adapters (the ledger, orders, payments, alerts,
the package seed), so an owner read that passes also proves the rules name the owner field the
code really writes; every other collection the code names gets a document owned by the owner too,
and must stay closed to everyone. After the refused writes, every seeded document is unchanged.
The emulator judges every project id by the one file, so the table runs in a project of its own.

``test_a_loosened_rule_is_caught`` runs the same table against a second emulator whose rules let
any signed-in user read any ``user_credits`` document, and expects exactly the rows that change.
"""

from __future__ import annotations

import ast
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack import firestore_emulator
from devstack.firestore_emulator import RulesRejected
from devstack.processes import Process, free_port
from devstack.stack import Stack
from tests.conftest import User, sign_up

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "firestore.rules"

OWNER, OTHER, SIGNED_OUT = "owner", "other", "signed-out"
ALLOWED, REFUSED = 200, 403
READS = ("get", "list")
WRITES = ("create", "update", "delete")  # a new document; a patch (PATCH with a field mask)


@dataclass(frozen=True)
class Rule:
    """``who`` sends ``op`` on ``path`` and gets ``expected``.

    ``path`` is a document (``user_credits/{uid}``) or, for ``list``, a collection and at most one
    equality filter (``credit_transactions?user_id={uid}``; ``**/`` asks a collection group).
    ``{uid}`` and ``{other}`` are the two users' uids; ``{entry}``, ``{order}``, ``{payment}``,
    ``{alert}`` and ``{package}`` the owner's documents that ``seed_open`` has the code write.
    ``create`` makes the document ``path`` names, which must not exist yet.
    """

    who: str
    op: str
    path: str
    expected: int

    def __str__(self) -> str:
        return f"{self.who:<10} {self.op:<6} {self.path}"


# ---- The rules, as a table ----------------------------------------------------------------------

OPEN: list[Rule] = [
    # user_credits/{uid}: the live balance, owned by its document id.
    Rule(OWNER, "get", "user_credits/{uid}", ALLOWED),
    Rule(OTHER, "get", "user_credits/{uid}", REFUSED),
    Rule(SIGNED_OUT, "get", "user_credits/{uid}", REFUSED),
    Rule(OWNER, "list", "user_credits?__name__={uid}", ALLOWED),
    Rule(OTHER, "list", "user_credits?__name__={uid}", REFUSED),
    Rule(OWNER, "list", "user_credits", REFUSED),
    Rule(OTHER, "create", "user_credits/{other}", REFUSED),  # a balance of one's own, from nothing
    # credit_transactions: ledger entries, owned by user_id.
    Rule(OWNER, "get", "credit_transactions/{entry}", ALLOWED),
    Rule(OTHER, "get", "credit_transactions/{entry}", REFUSED),
    Rule(SIGNED_OUT, "get", "credit_transactions/{entry}", REFUSED),
    Rule(OWNER, "list", "credit_transactions?user_id={uid}", ALLOWED),
    Rule(OWNER, "list", "credit_transactions?user_id={other}", REFUSED),
    Rule(OTHER, "list", "credit_transactions?user_id={uid}", REFUSED),
    Rule(SIGNED_OUT, "list", "credit_transactions?user_id={uid}", REFUSED),
    Rule(OWNER, "list", "credit_transactions", REFUSED),
    Rule(OWNER, "list", "**/credit_transactions?user_id={uid}", REFUSED),
    # credit_orders: owned by user_id.
    Rule(OWNER, "get", "credit_orders/{order}", ALLOWED),
    Rule(OTHER, "get", "credit_orders/{order}", REFUSED),
    Rule(SIGNED_OUT, "get", "credit_orders/{order}", REFUSED),
    Rule(OWNER, "list", "credit_orders?user_id={uid}", ALLOWED),
    Rule(OWNER, "list", "credit_orders?user_id={other}", REFUSED),
    Rule(OWNER, "list", "credit_orders", REFUSED),
    # payments: owned by owner_uid (what firestore_payments.py writes), not user_id.
    Rule(OWNER, "get", "payments/{payment}", ALLOWED),
    Rule(OTHER, "get", "payments/{payment}", REFUSED),
    Rule(SIGNED_OUT, "get", "payments/{payment}", REFUSED),
    Rule(OWNER, "list", "payments?owner_uid={uid}", ALLOWED),
    Rule(OWNER, "list", "payments?owner_uid={other}", REFUSED),
    Rule(OWNER, "list", "payments?user_id={uid}", REFUSED),
    Rule(OWNER, "list", "payments", REFUSED),
    # low_balance_alerts: owned by user_id.
    Rule(OWNER, "get", "low_balance_alerts/{alert}", ALLOWED),
    Rule(OTHER, "get", "low_balance_alerts/{alert}", REFUSED),
    Rule(SIGNED_OUT, "get", "low_balance_alerts/{alert}", REFUSED),
    Rule(OWNER, "list", "low_balance_alerts?user_id={uid}", ALLOWED),
    Rule(OWNER, "list", "low_balance_alerts?user_id={other}", REFUSED),
    Rule(OWNER, "list", "low_balance_alerts", REFUSED),
    # credit_packages: the catalog, not anyone's data: any signed-in user reads it.
    Rule(OWNER, "get", "credit_packages/{package}", ALLOWED),
    Rule(OTHER, "get", "credit_packages/{package}", ALLOWED),
    Rule(SIGNED_OUT, "get", "credit_packages/{package}", REFUSED),
    Rule(OTHER, "list", "credit_packages", ALLOWED),
    Rule(SIGNED_OUT, "list", "credit_packages", REFUSED),
    # Below an open document, nothing is open: the rules match one level only.
    Rule(OWNER, "get", "user_credits/{uid}/private/{uid}", REFUSED),
    Rule(OWNER, "update", "user_credits/{uid}/private/{uid}", REFUSED),
]
OPEN_DOCUMENTS = {
    "user_credits": "user_credits/{uid}",
    "credit_transactions": "credit_transactions/{entry}",
    "credit_orders": "credit_orders/{order}",
    "payments": "payments/{payment}",
    "low_balance_alerts": "low_balance_alerts/{alert}",
    "credit_packages": "credit_packages/{package}",
}
# No client writes anything: the owner (the likeliest to be let in) writes each open document,
# carrying their own uid in every owner field (see ``body``), and gets 403 every time.
OPEN_WRITES = [
    Rule(OWNER, op, f"{collection}/{{uid}}-new" if op == "create" else path, REFUSED)
    for collection, path in OPEN_DOCUMENTS.items()
    for op in WRITES
]


def collections_the_code_names() -> set[str]:
    """Every name the adapters may give a collection: their module-level string constants that
    look like one, and literal ``.collection("...")`` arguments.

    Some are field names (``reconcile_from``) or a subcollection (``tokens``): checked as closed
    collections too, which costs a few requests and is true of any name the rules do not open.
    """
    names: set[str] = set()
    for module in sorted((ROOT / "shared" / "adapters").glob("*.py")):
        tree = ast.parse(module.read_text())
        for statement in tree.body:
            if isinstance(statement, ast.Assign | ast.AnnAssign):
                value = statement.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.add(value.value)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "collection"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value))
    return {name for name in names if re.fullmatch(r"_?[a-z][a-z0-9_]*", name)}


# Every collection the code names and the rules do not open, and a name nobody uses: closed to
# everyone, the owner of the document included (seed_closed writes it with the owner's uid as its
# id and in its user_id and owner_uid fields). Also a subcollection the code really writes.
CLOSED_COLLECTIONS = sorted(collections_the_code_names() - set(OPEN_DOCUMENTS) | {"anything_else"})
SUBCOLLECTION = "user_devices/{uid}/tokens/{uid}"
CLOSED: list[Rule] = [
    Rule(OWNER, op, path, REFUSED)
    for collection in CLOSED_COLLECTIONS
    for op, path in [
        ("get", f"{collection}/{{uid}}"),
        ("list", f"{collection}?user_id={{uid}}"),
        ("create", f"{collection}/{{uid}}-new"),
        ("update", f"{collection}/{{uid}}"),
        ("delete", f"{collection}/{{uid}}"),
    ]
] + [
    Rule(OWNER, "get", SUBCOLLECTION, REFUSED),
    Rule(OWNER, "list", "**/tokens", REFUSED),
    Rule(OWNER, "update", SUBCOLLECTION, REFUSED),
]

RULES: list[Rule] = OPEN + OPEN_WRITES + CLOSED


# ---- Sending the table to an emulator -----------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    status: int
    message: str

    @property
    def violation(self) -> bool:
        return self.status != self.rule.expected


@dataclass
class Emulator:
    """Google's emulator on ``host``, one project of its state, and the two users."""

    host: str
    project: str
    owner: User
    other: User

    @property
    def documents(self) -> str:
        return f"http://{self.host}/v1/projects/{self.project}/databases/(default)/documents"

    def name(self, path: str) -> str:
        return f"projects/{self.project}/databases/(default)/documents/{path}"

    def headers(self, who: str) -> dict[str, str]:
        if who == "admin":
            return {"Authorization": "Bearer owner"}  # what the Admin and Cloud clients send
        return {OWNER: self.owner.headers, OTHER: self.other.headers, SIGNED_OUT: {}}[who]


def fill(path: str, ids: Mapping[str, str]) -> str:
    return path.format_map(ids)


def body(ids: Mapping[str, str]) -> dict[str, Any]:
    """What a write sends: the owner's uid in every owner field, and a balance worth stealing."""
    return {
        "fields": {
            "user_id": {"stringValue": ids["uid"]},
            "owner_uid": {"stringValue": ids["uid"]},
            "balance": {"integerValue": "1000000000"},
            "available": {"integerValue": "1000000000"},
        }
    }


def query(emulator: Emulator, path: str, ids: Mapping[str, str]) -> dict[str, Any]:
    """The runQuery body of a ``list`` path: ``[**/]collection[?field=value]``."""
    target, _, condition = path.partition("?")
    collection = target.removeprefix("**/")
    structured: dict[str, Any] = {
        "from": [{"collectionId": collection, "allDescendants": target.startswith("**/")}]
    }
    if condition:
        field, value = condition.split("=")
        value = fill(value, ids)
        typed = (
            {"referenceValue": emulator.name(f"{collection}/{value}")}
            if field == "__name__"
            else {"stringValue": value}
        )
        structured["where"] = {
            "fieldFilter": {"field": {"fieldPath": field}, "op": "EQUAL", "value": typed}
        }
    return {"structuredQuery": structured}


def send(emulator: Emulator, check: Rule, ids: Mapping[str, str]) -> Outcome:
    headers = emulator.headers(check.who)
    url = f"{emulator.documents}/{fill(check.path, ids)}"
    timeout = 30
    if check.op == "get":
        response = requests.get(url, headers=headers, timeout=timeout)
    elif check.op == "list":
        response = requests.post(
            f"{emulator.documents}:runQuery",
            json=query(emulator, check.path, ids),
            headers=headers,
            timeout=timeout,
        )
    elif check.op == "create":
        parent, _, document_id = fill(check.path, ids).rpartition("/")
        response = requests.post(
            f"{emulator.documents}/{parent}",
            params={"documentId": document_id},
            json=body(ids),
            headers=headers,
            timeout=timeout,
        )
    elif check.op == "update":
        response = requests.patch(
            url,
            params={"updateMask.fieldPaths": list(body(ids)["fields"])},
            json=body(ids),
            headers=headers,
            timeout=timeout,
        )
    elif check.op == "delete":
        response = requests.delete(url, headers=headers, timeout=timeout)
    else:
        raise AssertionError(f"unknown operation {check.op}")
    message = "" if response.ok else response.json().get("error", {}).get("message", "")
    return Outcome(check, response.status_code, " ".join(message.split()))


def seed_open(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Have the service's own code write the owner's documents of every open collection."""
    from google.cloud import firestore

    from devstack.seed import seed_default_packages
    from shared.accounts.alerts import LowBalanceAlert
    from shared.adapters.firestore_alerts import FirestoreAlertStore
    from shared.adapters.firestore_ledger import FirestoreLedger
    from shared.adapters.firestore_orders import FirestoreOrders
    from shared.adapters.firestore_payments import FirestorePayments
    from shared.ledger.entries import EntryType, Posting
    from shared.payments.records import GatewayIntent, PaymentRequest, PaymentStatus
    from shared.purchases.orders import CreditOrder
    from shared.purchases.packages import DEFAULT_PACKAGES

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    client = firestore.Client(project=emulator.project)
    uid, now = emulator.owner.uid, datetime.now(UTC)

    granted = FirestoreLedger(client).append(uid, [Posting(EntryType.GRANT, 500, actor="rules")])
    order = CreditOrder(
        id=f"order-{uid}",
        user_id=uid,
        provider="razorpay",
        provider_order_id=f"order_{uuid.uuid4().hex[:14]}",
        amount=100_00,
        tax=18_00,
        total=118_00,
        currency="inr",
        credits=100_00,
        bonus_credits=0,
        created_at=now,
    )
    assert FirestoreOrders(client).create(order)
    intent = GatewayIntent(
        id=f"pi_{uuid.uuid4().hex[:24]}",
        amount=500_00,
        currency="inr",
        status=PaymentStatus.REQUIRES_CONFIRMATION,
        client_secret=None,
    )
    request = PaymentRequest(amount=500_00, currency="inr", payment_method="pm_card_visa")
    FirestorePayments(client).create_payment(intent, request, owner_uid=uid)
    alert = LowBalanceAlert(uid, 1, 100, 150, 50, now)
    assert FirestoreAlertStore(client).record(alert) is None
    seed_default_packages({"FIREBASE_PROJECT_ID": emulator.project})
    return {
        "uid": uid,
        "other": emulator.other.uid,
        "entry": granted.entries[0].id,
        "order": order.id,
        "payment": intent.id,
        "alert": alert.id,
        "package": DEFAULT_PACKAGES[0].id,
    }


def seed_closed(emulator: Emulator, ids: Mapping[str, str]) -> None:
    """A document of the owner's in every closed collection, written as the administrator."""
    writes = [
        {"update": {"name": emulator.name(fill(path, ids)), **body(ids)}}
        for path in [f"{c}/{{uid}}" for c in CLOSED_COLLECTIONS] + [SUBCOLLECTION]
    ]
    response = requests.post(
        f"{emulator.documents}:commit",
        json={"writes": writes},
        headers=emulator.headers("admin"),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def snapshot(emulator: Emulator, ids: Mapping[str, str]) -> dict[str, Any]:
    """Every document the checks touch, as the administrator reads it (None: absent)."""
    paths = {fill(r.path, ids) for r in RULES if r.op != "list"}
    response = requests.post(
        f"{emulator.documents}:batchGet",
        json={"documents": [emulator.name(p) for p in sorted(paths)]},
        headers=emulator.headers("admin"),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = {}
    for item in response.json():
        if "found" in item:
            found[item["found"]["name"]] = item["found"]
        else:
            found[item["missing"]] = None
    return found


def run(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Outcome], list[str]]:
    """Seed, send every row of RULES (reads first, then writes), and compare the documents the
    checks touched before and after: (every outcome, the documents a refused write changed)."""
    ids = seed_open(emulator, monkeypatch)
    seed_closed(emulator, ids)
    before = snapshot(emulator, ids)
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for phase in (READS, WRITES):
            rows = [r for r in RULES if r.op in phase]
            outcomes += pool.map(lambda r: send(emulator, r, ids), rows)
    after = snapshot(emulator, ids)
    changed = sorted(name for name in before if before[name] != after[name])
    return outcomes, changed


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'who':<10} {'op':<6} {'path':<44} expected got  message"]
    lines += [
        f"{o.rule!s:<62} {o.rule.expected:<8} {o.status:<4} {o.message[:80]}"
        + ("   <-- VIOLATION" if o.violation else "")
        for o in outcomes
    ]
    return "\n".join(lines)


@pytest.fixture
def users(stack: Stack) -> tuple[User, User]:
    return sign_up(stack), sign_up(stack)


# ---- The tests ----------------------------------------------------------------------------------


def test_the_table_covers_every_collection_the_rules_name() -> None:
    """A collection the rules open must have rows here; the list from the code is not empty."""
    named = set(re.findall(r"match\s+/(\w+)/\{", RULES_FILE.read_text())) - {"databases"}
    assert named == set(OPEN_DOCUMENTS)
    assert {r.path.split("/")[0].split("?")[0] for r in OPEN} >= named
    service_collections = {
        "idempotency_keys", "holds", "refunds", "payment_refunds", "credit_order_refunds",
        "tax_documents", "billing_details", "outbox", "ledger_effects", "id_claims",
        "webhook_events", "rate_limits", "user_devices", "ledger_heads",
    }  # fmt: skip
    assert service_collections <= set(CLOSED_COLLECTIONS)


def test_the_stack_firestore_enforces_the_rules(
    stack: Stack, users: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row of RULES, on the stack's own emulator (started with firestore.rules)."""
    owner, other = users
    emulator = Emulator(
        f"127.0.0.1:{stack.ports.firestore}", f"demo-rules-{uuid.uuid4().hex[:12]}", owner, other
    )
    outcomes, changed = run(emulator, monkeypatch)
    print("\n" + report(outcomes))
    assert [o for o in outcomes if o.violation] == [], report(outcomes)
    assert changed == []
    assert len(outcomes) == len(RULES)


def test_the_rules_file_holds_for_every_project_of_the_emulator(
    stack: Stack, users: tuple[User, User]
) -> None:
    """The tests use projects of their own; the gateway's project is judged by the same file."""
    owner, other = users
    for project in (stack.project, f"demo-any-{uuid.uuid4().hex[:8]}", "not-a-demo-project"):
        url = (
            f"http://127.0.0.1:{stack.ports.firestore}/v1/projects/{project}"
            f"/databases/(default)/documents/user_credits/{owner.uid}"
        )
        # The owner is let in (404: no balance yet); the other user and nobody are refused.
        assert requests.get(url, headers=owner.headers, timeout=30).status_code == 404, project
        assert requests.get(url, headers=other.headers, timeout=30).status_code == 403, project
        assert requests.get(url, timeout=30).status_code == 403, project


def second_emulator(rules: Path, name: str) -> tuple[Process, int]:
    """An emulator of its own judging by ``rules``, ready as the stack's is; not yet started."""
    port = free_port()
    argv = firestore_emulator.command(port, rules=rules)
    # A JVM that serves one table: the client compiler alone warms it up 3x faster (measured:
    # about 5 s instead of 15 s for the first run of the table on a loaded 2-core machine).
    argv.insert(1, "-XX:TieredStopAtLevel=1")
    process = Process(
        name,
        argv,
        ready=lambda: firestore_emulator.serves_documents(port),
        cwd=rules.parent,
        log_path=rules.parent / f"{name}.log",
    )
    return process, port


@pytest.fixture
def loosened_emulator(tmp_path: Path) -> Iterator[str]:
    """A second emulator whose rules let any signed-in user read any ``user_credits``."""
    text = RULES_FILE.read_text()
    tight = "match /user_credits/{uid} {\n      allow read: if owns(uid);"
    assert tight in text, "the user_credits rule moved: update this mutation"
    rules = tmp_path / "loosened.rules"
    rules.write_text(text.replace(tight, tight.replace("owns(uid)", "signedIn()")))
    process, port = second_emulator(rules, "firestore-loosened")
    started = time.monotonic()
    process.start(timeout=60)
    print(f"\nsecond emulator ready in {time.monotonic() - started:.1f} s")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


def test_a_loosened_rule_is_caught(
    loosened_emulator: str, users: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table fails on exactly the rows the loosened rule changes, and on no other."""
    owner, other = users
    emulator = Emulator(loosened_emulator, "demo-rules-loosened", owner, other)
    outcomes, changed = run(emulator, monkeypatch)
    violations = {(o.rule.who, o.rule.op, o.rule.path): o.status for o in outcomes if o.violation}
    print("\n" + report([o for o in outcomes if o.violation]))
    assert violations == {
        (OTHER, "get", "user_credits/{uid}"): ALLOWED,  # another user reads the balance
        (OTHER, "list", "user_credits?__name__={uid}"): ALLOWED,
        (OWNER, "list", "user_credits"): ALLOWED,  # and anyone lists every balance
    }
    assert changed == []


def test_rules_that_do_not_compile_stop_the_start(tmp_path: Path) -> None:
    """The emulator itself starts with them and serves the administrator: the stack must not."""
    rules = tmp_path / "broken.rules"
    rules.write_text(RULES_FILE.read_text().replace("allow read: if owns(uid);", "allow read: if"))
    process, _ = second_emulator(rules, "firestore-broken")
    try:
        with pytest.raises(RulesRejected, match=r"Error compiling rules:\\nL\d+:\d+"):
            process.start(timeout=60)
    finally:
        process.stop()
