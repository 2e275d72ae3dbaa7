"""Cost per call: Firestore documents read, written and deleted, and function invocations, for each
operation and everything it sets off (its trigger deliveries, outbox delivery, provider webhooks),
priced at the published list prices; beside it, the seed's way (one read-modify-write transaction
on a balance document) measured on the same emulator.

Operations run in this process through the deployed entry points (``bench.inprocess``) on an
RPC-counting client of a project of their own, so that the stack's own trigger relay and the
webhooks localstripe sends to the gateway touch none of the documents counted here. The triggers
an operation sets off are found from its commits (every document it created in a trigger's
collection) and delivered in this process, as Eventarc would, through functions-framework.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests

from bench.measure import ROOT, median
from bench.rpc import RpcCounter

# List prices in USD per million (Firestore Standard edition, us-central1; Cloud Run functions
# requests beyond the free tier). Read on 2026-11-30 from:
#   https://firebase.google.com/docs/firestore/standard-edition  (reads $0.03, writes $0.09,
#     deletes $0.01 per 100,000 documents; nam5/eur3 multi-region cost about twice as much)
#   https://cloud.google.com/functions/pricing-1stgen and https://cloud.google.com/run/pricing
#     (invocations / requests $0.40 per million beyond 2 million a month free)
# Compute time (vCPU-s, GiB-s) is not included: it depends on memory and instance settings.
USD_PER_MILLION = {"read": 0.30, "write": 0.90, "delete": 0.10, "invocation": 0.40}
PRICES_READ_ON = "2026-11-30"


@dataclass
class Tally:
    rpcs: int = 0
    reads: int = 0
    writes: int = 0
    deletes: int = 0
    invocations: int = 0
    hottest: int = 0  # writes to the most written single document

    def add(self, counter: RpcCounter, invocations: int) -> None:
        self.rpcs += counter.total
        self.reads += counter.document_reads
        self.writes += counter.document_writes
        self.deletes += counter.document_deletes
        self.invocations += invocations
        self.hottest += counter.hottest_document_writes

    def per_run(self, runs: int) -> Tally:
        """The mean of ``runs`` runs (counts are the same in every run; rounding is exact)."""
        n = max(1, runs)
        return Tally(*(round(v / n) for v in (self.rpcs, self.reads, self.writes, self.deletes,
                                              self.invocations, self.hottest)))  # fmt: skip

    def usd_per_million(self) -> float:
        p = USD_PER_MILLION
        return (
            self.reads * p["read"]
            + self.writes * p["write"]
            + self.deletes * p["delete"]
            + self.invocations * p["invocation"]
        )


@dataclass
class Measured:
    """One operation over every run: its own cost, what it set off, and seconds per run."""

    own: Tally = field(default_factory=Tally)
    fanout: Tally = field(default_factory=Tally)
    seconds: dict[int, float] = field(default_factory=dict)  # run number -> its steps' time


class InProcessTriggers:
    """Deliver, in this process, the trigger events the counted documents would cause.

    A ``created`` trigger gets each document created in its collection; the account document's
    ``written`` trigger gets one event per ledger commit, built as the local relay builds it
    (``devstack.trigger_relay.account_written_event``).
    """

    def __init__(self, project: str, plain_client: Any, counter: RpcCounter) -> None:
        from devstack.trigger_relay import in_process_delivery, polled_collection
        from functions.registry import TRIGGER_FUNCTIONS

        self._project = project
        self._db = plain_client  # reads the documents to put in the events: not counted
        self._counter = counter
        self._deliver = in_process_delivery(ROOT / "main.py")
        self._triggers: dict[str, list[Any]] = {}
        for trigger in TRIGGER_FUNCTIONS:
            self._triggers.setdefault(polled_collection(trigger), []).append(trigger)

    def run(self, created: list[str]) -> int:
        """Deliver each trigger of each created document (and of what they create); count them."""
        from devstack.trigger_relay import account_written_event, ledger_commits
        from shared.adapters.firestore_events import (
            CREATED,
            cloud_event_headers,
            document_path,
            encode_document_event,
        )

        pending, invocations = list(created), 0
        while pending:
            names, pending = pending, []
            snapshots = []
            for name in names:
                path = document_path(name)
                triggers = self._triggers.get(path.split("/", 1)[0], [])
                if not triggers:
                    continue
                snapshot = self._db.document(path).get()
                snapshots.append(snapshot)
                events = []
                for trigger in triggers:
                    if trigger.event_type != CREATED:
                        continue
                    headers = cloud_event_headers(
                        trigger.event_type, self._project, path, event_id=uuid.uuid4().hex
                    )
                    events.append(
                        (trigger, headers, encode_document_event(name, snapshot.to_dict() or {}))
                    )
                invocations += self._fire(events, pending)
            entries = [s for s in snapshots if s.reference.parent.id == "credit_transactions"]
            for commit in ledger_commits(entries):
                events = []
                for trigger in self._triggers.get("credit_transactions", []):
                    if trigger.event_type != CREATED:
                        headers, body = account_written_event(
                            self._db, self._project, trigger, commit, "(default)"
                        )
                        events.append((trigger, headers, body))
                invocations += self._fire(events, pending)
        return invocations

    def _fire(self, events: list[tuple[Any, dict[str, str], bytes]], pending: list[str]) -> int:
        for trigger, headers, body in events:
            before = len(self._counter.created)
            status = self._deliver(trigger.name, headers, body)
            if not 200 <= status < 300:
                raise RuntimeError(f"{trigger.name} answered {status} for {headers['ce-subject']}")
            pending.extend(self._counter.created[before:])
        return len(events)


class CostRun:
    """Runs operations and keeps, per operation, its own and its fan-out's counts."""

    def __init__(self, counter: RpcCounter, triggers: InProcessTriggers) -> None:
        self.counter = counter
        self.triggers = triggers
        self.results: dict[str, Measured] = {}
        self.run_number = 0  # run_operations counts its runs here

    def measure(self, name: str, step: Callable[[], Any], invocations: int = 1) -> Any:
        """Run one HTTP-invoked step of operation ``name``, then the triggers it set off."""
        measured = self.results.setdefault(name, Measured())
        with self.counter.measuring():
            start = time.perf_counter()
            answer = step()
            elapsed = time.perf_counter() - start
            created = list(self.counter.created)
            measured.own.add(self.counter, invocations)
        with self.counter.measuring():
            fired = self.triggers.run(created)
            measured.fanout.add(self.counter, fired)
        measured.seconds[self.run_number] = measured.seconds.get(self.run_number, 0.0) + elapsed
        return answer

    def rows(self, seed: dict[str, SeedWay]) -> list[dict[str, Any]]:
        rows = []
        for name, m in self.results.items():
            runs = len(m.seconds)
            own, fanout = m.own.per_run(runs), m.fanout.per_run(runs)
            usd = own.usd_per_million() + fanout.usd_per_million()
            way = seed.get(name)
            rows.append(
                {
                    "operation": name,
                    "round_trips": own.rpcs,
                    "reads": own.reads,
                    "writes": own.writes,
                    "deletes": own.deletes,
                    "trigger_reads": fanout.reads,
                    "trigger_writes": fanout.writes,
                    "invocations": own.invocations + fanout.invocations,
                    "usd_per_million": round(usd, 2),
                    "fanout_share": round(fanout.usd_per_million() / usd, 2) if usd else 0.0,
                    "p50_ms": round(median(list(m.seconds.values())) * 1000, 1),
                    # Its own commits' writes to one document (the account's, for a charge):
                    # at production's ~1 write/s per document, the per-account ceiling.
                    "hottest_document_writes": own.hottest,
                    "per_account_ceiling_per_s": round(1 / own.hottest, 2) if own.hottest else None,
                    "seed_way": way.label if way else "-",
                    "seed_round_trips": way.round_trips if way else None,
                    "seed_reads": way.reads if way else None,
                    "seed_writes": way.writes if way else None,
                    "seed_usd_per_million": round(way.usd_per_million(), 2) if way else None,
                    "seed_p50_ms": round(way.p50_ms, 1) if way else None,
                    "seed_hottest_document_writes": way.hottest if way else None,
                }
            )
        return rows


# --- the seed's way ----------------------------------------------------------------------------


@dataclass
class SeedPrimitive:
    """A measured primitive of the seed's design: its round trips, documents and p50."""

    round_trips: int
    reads: int
    writes: int
    p50_ms: float


@dataclass
class SeedWay:
    """An operation done the seed's way: ``times`` primitives plus the seed's trigger calls."""

    label: str
    primitive: SeedPrimitive
    times: int = 1
    http_calls: int = 1
    trigger_invocations: int = 0

    @property
    def round_trips(self) -> int:
        return self.primitive.round_trips * self.times

    @property
    def reads(self) -> int:
        return self.primitive.reads * self.times

    @property
    def writes(self) -> int:
        return self.primitive.writes * self.times

    @property
    def p50_ms(self) -> float:
        return self.primitive.p50_ms * self.times

    @property
    def hottest(self) -> int:
        """Writes to the balance document: one per transaction that changes it."""
        return self.times if self.primitive.writes else 0

    def usd_per_million(self) -> float:
        invocations = self.http_calls + self.trigger_invocations
        return Tally(0, self.reads, self.writes, 0, invocations).usd_per_million()


def measure_seed_primitives(
    client: Any, counter: RpcCounter, samples: int
) -> tuple[SeedPrimitive, SeedPrimitive]:
    """The seed's balance read (one get) and balance change (one read-modify-write transaction
    on ``user_credits/{uid}`` that also adds the transaction record), on the same emulator."""
    from google.cloud import firestore

    uid = f"seed-{uuid.uuid4().hex[:10]}"
    balance = client.collection("seed_user_credits").document(uid)
    balance.set({"balance": 10_000_000})

    def read() -> None:
        balance.get()

    @firestore.transactional
    def deduct(transaction: Any, amount: int) -> None:
        current = balance.get(transaction=transaction).get("balance")
        if current < amount:
            raise ValueError("insufficient credits")
        transaction.update(balance, {"balance": current - amount})
        transaction.set(
            client.collection("seed_credit_transactions").document(),
            {"user_id": uid, "amount": -amount, "type": "usage"},
        )

    def change() -> None:
        deduct(client.transaction(), 1)

    return _primitive(read, counter, samples), _primitive(change, counter, samples)


def _primitive(call: Callable[[], None], counter: RpcCounter, samples: int) -> SeedPrimitive:
    with counter.measuring():
        call()
        counts = (counter.total, counter.document_reads, counter.document_writes)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return SeedPrimitive(*counts, median(times) * 1000)


# --- provider events, signed as the providers sign them -----------------------------------------


def razorpay_event(
    secret: str, name: str, **entities: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "entity": "event",
            "event": name,
            "contains": list(entities),
            "payload": {kind: {"entity": entity} for kind, entity in entities.items()},
            "created_at": int(time.time()),
        }
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "X-Razorpay-Signature": signature,
        "x-razorpay-event-id": f"evt_{uuid.uuid4().hex[:14]}",
        "Content-Type": "application/json",
    }


def stripe_event(secret: str, kind: str, obj: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


def razorpay_entity(stack: Any, path: str) -> dict[str, Any]:
    response = requests.get(
        f"{stack.razorpay_url}/v1/{path}",
        auth=(stack.razorpay_key_id, stack.razorpay_key_secret),
        timeout=10,
    )
    response.raise_for_status()
    entity: dict[str, Any] = response.json()
    return entity


# --- the operations -----------------------------------------------------------------------------

BALANCE_READ = "balance read"
ACCOUNT_READ = "account read"
USAGE_CHARGE = "usage charge"
USAGE_REPLAY = "usage replay"
HOLD_PLACE = "hold place"
HOLD_CAPTURE = "hold capture (part; the rest released)"
RAZORPAY = "Razorpay purchase end to end (order, verify, 3 webhooks)"
STRIPE_PAYMENT = "Stripe card payment (process, 2 webhooks, outbox)"
STRIPE_REFUND = "Stripe refund (process, 1 webhook, outbox)"
WEBHOOK_REPLAY = "webhook replay"


def batch_name(size: int) -> str:
    return f"batch of {size} usage events, one account"


def seed_ways(read: SeedPrimitive, change: SeedPrimitive, batch: int) -> dict[str, SeedWay]:
    """Each operation done the seed's way, in its primitives (the seed's alert trigger fires on
    every transaction record written)."""
    return {
        BALANCE_READ: SeedWay("1 get", read),
        ACCOUNT_READ: SeedWay("1 get", read),
        USAGE_CHARGE: SeedWay("1 txn", change, trigger_invocations=1),
        USAGE_REPLAY: SeedWay("1 txn: charged again (no event ids)", change, trigger_invocations=1),
        batch_name(batch): SeedWay(f"{batch} calls, {batch} txns", change, batch, batch, batch),
        HOLD_PLACE: SeedWay("1 txn (no holds in the seed)", change, trigger_invocations=1),
        HOLD_CAPTURE: SeedWay("1 txn", change, trigger_invocations=1),
        RAZORPAY: SeedWay("1 txn in 5 calls", change, 1, 5, 1),
    }


def run_operations(run: CostRun, stack: Any, ledger: Any, repeats: int, batch_size: int) -> None:
    """Every operation of the cost table, ``repeats`` times, each with a user of its own."""
    import stripe

    from bench.callers import service_headers, sign_up
    from bench.inprocess import invoke
    from shared.ledger.entries import EntryType, Posting

    svc = service_headers(stack)
    stripe_client = stripe.StripeClient(
        stack.stripe_secret_key, base_addresses={"api": stack.stripe_url}, max_network_retries=0
    )

    def ok(response: Any) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)}")
        return response.get_json()

    def call(function: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        method = "GET" if kwargs.get("json") is None and "data" not in kwargs else "POST"
        return lambda: ok(invoke(function, method, path=path, headers=headers, **kwargs))

    for number in range(repeats):
        run.run_number = number
        uid, token = sign_up(stack)
        user = {"Authorization": f"Bearer {token}"}
        run.measure("setup", partial(ledger.append, uid, [Posting(EntryType.GRANT, 10_000_000)]))
        run.measure(BALANCE_READ, call("credits_balance", "/api/v1/credits/balance", user))
        run.measure(ACCOUNT_READ, call("credits_account", "/api/v1/credits/account", user))

        usage = {"user_id": uid, "service": "bench", "amount": 10, "event_id": uuid.uuid4().hex}
        run.measure(USAGE_CHARGE, call("usage_record", "/api/v1/usage", svc, json=usage))
        run.measure(USAGE_REPLAY, call("usage_record", "/api/v1/usage", svc, json=usage))
        events = [
            {"user_id": uid, "service": "bench", "amount": 1, "event_id": uuid.uuid4().hex}
            for _ in range(batch_size)
        ]
        batch = {"events": events}
        run.measure(
            batch_name(batch_size), call("usage_batch", "/api/v1/usage/batch", svc, json=batch)
        )

        hold = {"user_id": uid, "service": "bench", "amount": 500, "hold_id": uuid.uuid4().hex}
        run.measure(HOLD_PLACE, call("holds_place", "/api/v1/holds", svc, json=hold))
        capture = f"/api/v1/holds/{hold['hold_id']}/capture"
        run.measure(HOLD_CAPTURE, call("holds_capture", capture, svc, json={"amount": 200}))

        last_webhook = _razorpay_purchase(run, stack, user, call)
        _stripe_payment_and_refund(run, stack, user, call, stripe_client)
        run.measure(WEBHOOK_REPLAY, call("webhooks_razorpay", "/api/v1/webhooks/razorpay",
                                         last_webhook[1], data=last_webhook[0]))  # fmt: skip
    del run.results["setup"]


def _razorpay_purchase(
    run: CostRun, stack: Any, user: dict[str, str], call: Callable[..., Any]
) -> tuple[bytes, dict[str, str]]:
    keyed = {**user, "Idempotency-Key": uuid.uuid4().hex}
    order = run.measure(RAZORPAY, call("credits_purchase", "/api/v1/credits/purchase", keyed,
                                       json={"amount": 50_000, "currency": "INR"}))  # fmt: skip
    paid = requests.post(
        f"{stack.razorpay_url}/_sandbox/orders/{order['provider_order_id']}/pay",
        json={"webhooks": False},
        timeout=10,
    ).json()
    run.measure(RAZORPAY, call("payments_verify", "/api/v1/payments/verify", user, json=paid))
    payment = razorpay_entity(stack, f"payments/{paid['razorpay_payment_id']}")
    entity = razorpay_entity(stack, f"orders/{order['provider_order_id']}")
    secret = stack.razorpay_webhook_secret
    webhooks = [
        razorpay_event(secret, "payment.authorized", payment={**payment, "status": "authorized"}),
        razorpay_event(secret, "payment.captured", payment=payment),
        razorpay_event(secret, "order.paid", payment=payment, order=entity),
    ]
    for body, headers in webhooks:
        run.measure(RAZORPAY, call("webhooks_razorpay", "/api/v1/webhooks/razorpay", headers,
                                   data=body))  # fmt: skip
    return webhooks[-1]


def _stripe_payment_and_refund(
    run: CostRun, stack: Any, user: dict[str, str], call: Callable[..., Any], stripe_client: Any
) -> None:
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    pm = stripe_client.v1.payment_methods.create(params={"type": "card", "card": card}).id
    keyed = {**user, "Idempotency-Key": uuid.uuid4().hex}
    body = {"amount": 2000, "currency": "sgd", "payment_method": pm}
    paid = run.measure(STRIPE_PAYMENT, call("stripe_payment_process", "/api/payment/process",
                                            keyed, json=body))  # fmt: skip
    intent_id = paid["payment_intent_id"]
    secret = stack.stripe_webhook_secret
    intent = stripe_client.v1.payment_intents.retrieve(intent_id).to_dict()
    charge = _charge_of(stripe_client, intent)
    for kind, obj in (("payment_intent.succeeded", intent), ("charge.succeeded", charge)):
        event, headers = stripe_event(secret, kind, obj)
        run.measure(STRIPE_PAYMENT, call("stripe_webhook", "/api/webhook", headers, data=event))
    keyed = {**user, "Idempotency-Key": uuid.uuid4().hex}
    refund = {"payment_intent_id": intent_id, "amount": 500, "reason": "requested_by_customer"}
    run.measure(STRIPE_REFUND, call("stripe_refund_process", "/api/refund/process", keyed,
                                    json=refund))  # fmt: skip
    refunded = _charge_of(stripe_client, intent)
    event, headers = stripe_event(secret, "charge.refunded", refunded)
    run.measure(STRIPE_REFUND, call("stripe_webhook", "/api/webhook", headers, data=event))


def _charge_of(stripe_client: Any, intent: dict[str, Any]) -> dict[str, Any]:
    latest = intent.get("latest_charge") or intent["charges"]["data"][0]
    charge_id = latest["id"] if isinstance(latest, dict) else latest
    charge: dict[str, Any] = stripe_client.v1.charges.retrieve(charge_id).to_dict()
    return charge
