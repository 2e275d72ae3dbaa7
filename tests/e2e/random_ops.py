"""A model-based random walk over the billing service, through the gateway (issue 6).

``World`` keeps a model of every account (balance, held, open holds, charged usage events, paid
orders and what was refunded of them) and, step by step, fires a random operation at the service
over HTTP: Razorpay purchases (verify, webhooks or both, with injected provider faults), Stripe
credit purchases, usage (single and batch, with repeated event ids), holds (place, capture part,
release, expiry), admin grants and adjustments (with Idempotency-Key replays), Razorpay refunds
(sandbox refund API, refund webhook, clawback), admin refunds through either provider (with a
retry), second payments on paid Razorpay orders (owed back, refunded by an admin or support),
disputes won or lost on either provider, webhook replays, and bursts of concurrent callers on
one account.

The model predicts each outcome (201 or 402, replay or charge, 409, 502) from what it knows, and
moves only on what the service answered. After every step ``check`` compares every touched
account with the ledger (invariants, effects applied once, head == model) and the balance
endpoint (balance, held, available), and money against credits: per order, the credits
granted less those clawed back never exceed what the money kept buys (rounded in the buyer's
favour by under one unit). Each step draws from its own ``Random(f"{seed}:{step}")``,
so a run replays from its seed; every step is printed, so a failure says how to get there.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from ops.audit import effect_violations
from shared.ledger.invariants import invariant_violations
from shared.purchases.pricing import quote_purchase
from tests.conftest import RazorpaySandbox, User
from tests.e2e.stripe_helpers import CARD_OK, payment_method

Json = dict[str, Any]
TIMEOUT = 30
# Kept under the gateway's per-user limits (purchase 10, verify 30 per 60 s window): counting
# our own calls over a sliding minute bounds what any fixed window of the service can see.
PURCHASES_PER_MINUTE = 8
VERIFIES_PER_MINUTE = 25


class StepFailed(AssertionError):
    pass


def spend_amount(rng: random.Random) -> int:
    """Mostly small, sometimes large: balances drain as well as grow, so 402s, overdrafts and
    clawbacks of reserved credits happen too."""
    return rng.choice(
        [rng.randint(1, 1_000), rng.randint(1_000, 30_000), rng.randint(30_000, 400_000)]
    )


def expect(condition: object, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def status_of(response: requests.Response, *expected: int) -> int:
    expect(
        response.status_code in expected,
        f"{response.request.method} {response.url} answered {response.status_code}, "
        f"expected {expected}: {response.text[:500]}",
    )
    return response.status_code


@dataclass
class OpenHold:
    hold_id: str
    amount: int
    expires_at: datetime
    short: bool  # placed with expires_in=1: only the expiry paths touch it


@dataclass
class PaidOrder:
    order_id: str
    payment_id: str  # Razorpay payment id or Stripe PaymentIntent id
    provider: str
    total: int  # money, minor units
    currency: str
    granted: int  # credits + bonus
    refunded: int = 0  # money given back so far: refunds and lost chargebacks
    charged_back: bool = False  # a dispute was lost: no refund can follow
    second_payments: list[str] = field(default_factory=list)  # owed back, never credits

    @property
    def kept(self) -> int:
        """The money of this order the merchant keeps (its second payments aside)."""
        return self.total - self.refunded

    @property
    def refundable(self) -> bool:
        return self.refunded < self.total and not self.charged_back

    def clawback(self, refund: int) -> int:
        """docs/payments.md's refund policy: proportional, bonus included, on the cumulative sum."""
        before, after = self.refunded, min(self.refunded + refund, self.total)
        return self.granted * after // self.total - self.granted * before // self.total


@dataclass
class Account:
    """The model of one user's credits, moved only by what the service answered."""

    user: User
    balance: int = 0
    held: int = 0
    holds: dict[str, OpenHold] = field(default_factory=dict)
    settled: dict[str, Json] = field(default_factory=dict)  # hold id -> the settling answer
    charged: dict[str, int] = field(default_factory=dict)  # usage event id -> amount
    voided: dict[str, Json] = field(default_factory=dict)  # usage event id -> the void's answer
    orders: list[PaidOrder] = field(default_factory=list)
    purchases: deque[float] = field(default_factory=deque)
    verifies: deque[float] = field(default_factory=deque)

    @property
    def uid(self) -> str:
        return self.user.uid

    @property
    def available(self) -> int:
        return self.balance - self.held

    def room(self, calls: deque[float], limit: int, needed: int = 1) -> bool:
        while calls and calls[0] < time.monotonic() - 61:
            calls.popleft()
        return len(calls) + needed <= limit

    def note(self, calls: deque[float]) -> None:
        calls.append(time.monotonic())


def credits_beyond_money(account: Account, entries: list[Any]) -> list[str]:
    """Orders whose credits granted less clawed back (from the ledger) exceed the money kept.

    Credits and money are both in the order's own terms: the credits the kept money buys are
    ``granted * kept / total``, rounded up (each clawback rounds down, in the buyer's favour).
    """
    from shared.ledger.entries import EntryType

    found = []
    for order in account.orders:
        mine = [e for e in entries if e.source.get("order_id") == order.order_id]
        granted = sum(e.amount for e in mine if e.type in (EntryType.PURCHASE, EntryType.BONUS))
        # Net of what failed refunds gave back (``refund_reversal``).
        returns = (EntryType.REFUND, EntryType.REFUND_REVERSAL)
        clawed = -sum(e.amount for e in mine if e.type in returns)
        allowed = -(-order.granted * order.kept // order.total)
        if granted - clawed > allowed:
            found.append(
                f"order {order.order_id}: granted {granted} - clawed back {clawed} > "
                f"{allowed}, what {order.kept} of {order.total} kept buys"
            )
    return found


@dataclass
class World:
    seed: int
    gateway: str
    razorpay: RazorpaySandbox
    stripe_client: Any
    ledger: Any  # FirestoreLedger of the gateway's project
    service_headers: dict[str, str]
    scheduler_headers: dict[str, str]
    admin: User
    accounts: list[Account]
    sent_events: list[tuple[str, str]] = field(default_factory=list)  # (uid, razorpay event id)
    log: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    packages: dict[str, int] = field(default_factory=dict)  # on sale: id -> amount (paise)

    # ---- HTTP --------------------------------------------------------------------------------
    def http(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> requests.Response:
        return requests.request(
            method, f"{self.gateway}{path}", headers=headers, timeout=TIMEOUT, **kw
        )

    def say(self, text: str) -> None:
        line = f"[seed {self.seed}] {text}"
        self.log.append(line)
        print(line, flush=True)

    # ---- the walk ----------------------------------------------------------------------------
    def operations(self) -> list[tuple[Callable[[Account, random.Random], str], int]]:
        return [
            (self.rzp_purchase, 10),
            (self.usage, 14),
            (self.usage_batch, 6),
            (self.hold_place, 8),
            (self.hold_capture, 6),
            (self.hold_release, 4),
            (self.hold_expire, 2),
            (self.capture_expired, 2),
            (self.admin_change, 6),
            (self.rzp_refund, 5),
            (self.admin_refund, 3),
            (self.stripe_purchase, 2),
            (self.replay, 7),
            (self.burst, 6),
            (self.usage_void, 4),
            (self.credits_check, 3),
            (self.second_payment, 3),
            (self.dispute, 3),
        ]

    def step(self, number: int) -> None:
        rng = random.Random(f"{self.seed}:{number}")
        ops = self.operations()
        op = rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        account = rng.choice(self.accounts)
        name = op.__name__
        self.say(
            f"step {number}: {name} on {account.uid[:8]} "
            f"(model balance {account.balance}, held {account.held})"
        )
        outcome = op(account, rng)
        self.counts[name] = self.counts.get(name, 0) + 1
        self.say(f"  -> {outcome}")
        self.check()

    # ---- checks ------------------------------------------------------------------------------
    def check(self, accounts: list[Account] | None = None) -> None:
        """Ledger invariants, effects once, and head == balance endpoint == model, per account."""
        for account in accounts or self.accounts:
            entries = self.ledger.entries(account.uid)
            problems = invariant_violations(entries) + effect_violations(entries)
            expect(not problems, f"{account.uid}: ledger invariants broken: {problems}")
            head_balance = entries[-1].balance_after if entries else 0
            head_held = entries[-1].held_after if entries else 0
            expect(
                (head_balance, head_held) == (account.balance, account.held),
                f"{account.uid}: ledger head (balance, held) = {(head_balance, head_held)}, "
                f"model {(account.balance, account.held)}; last entries "
                f"{[(e.seq, e.type.value, e.amount, e.balance_after) for e in entries[-4:]]}",
            )
            expect(
                account.held == sum(h.amount for h in account.holds.values()),
                f"{account.uid}: model held {account.held} != its open holds",
            )
            expect(not (over := credits_beyond_money(account, entries)), f"{account.uid}: {over}")
            response = self.http("GET", "/api/v1/credits/balance", account.user.headers)
            status_of(response, 200)
            body = response.json()
            seen = (body["balance"], body["held"], body["available"])
            wanted = (account.balance, account.held, account.available)
            expect(seen == wanted, f"{account.uid}: balance endpoint {seen}, model {wanted}")

    def converge_projection(self, firestore: Any, timeout: float = 20.0) -> None:
        """``user_credits/{uid}`` reaches the ledger head (the relay delivers asynchronously)."""
        for account in self.accounts:
            entries = self.ledger.entries(account.uid)
            if not entries:
                continue
            wanted = (entries[-1].seq, account.balance, account.held)
            deadline = time.monotonic() + timeout
            while True:
                doc = firestore.collection("user_credits").document(account.uid).get().to_dict()
                got = None if doc is None else (doc.get("seq"), doc.get("balance"), doc.get("held"))
                if got == wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            expect(got == wanted, f"{account.uid}: projection {got} never reached {wanted}")

    # ---- Razorpay purchases ------------------------------------------------------------------
    def _purchase_body(self, account: Account, rng: random.Random) -> tuple[Json, int]:
        if not self.packages:
            response = self.http("GET", "/api/v1/credits/packages", account.user.headers)
            status_of(response, 200)
            self.packages = {p["id"]: p["amount"] for p in response.json()["data"]}
        if rng.random() < 0.5:
            package = rng.choice(sorted(self.packages))
            return {"package_id": package}, self.packages[package]
        amount = rng.randrange(10_000, 300_000)
        return {"amount": amount, "currency": "inr"}, amount

    def _start_purchase(self, account: Account, body: Json, faults: int = 0) -> Json:
        """POST /credits/purchase; with ``faults`` injected, each faulted try is a 502 first."""
        orders_before = self._order_count(account)
        if faults:
            self.razorpay.post("/_sandbox/faults", {"fail_next": faults, "status": 500})
        for _ in range(faults):
            account.note(account.purchases)
            failed = self.http("POST", "/api/v1/credits/purchase", account.user.headers, json=body)
            status_of(failed, 502)
            expect(failed.json()["error"]["code"] == "provider_error", failed.text)
            expect(self._order_count(account) == orders_before, "a failed purchase kept an order")
        account.note(account.purchases)
        response = self.http("POST", "/api/v1/credits/purchase", account.user.headers, json=body)
        status_of(response, 201)
        return dict(response.json())

    def _order_count(self, account: Account) -> int:
        response = self.http(
            "GET", "/api/v1/credits/orders", account.user.headers, params={"limit": 100}
        )
        status_of(response, 200)
        return len(response.json()["data"])

    def _order_status(self, account: Account, order_id: str) -> Json:
        response = self.http(
            "GET", "/api/v1/payments/status", account.user.headers, params={"order_id": order_id}
        )
        status_of(response, 200)
        return dict(response.json())

    def _verify(self, account: Account, paid: Json) -> requests.Response:
        account.note(account.verifies)
        return self.http("POST", "/api/v1/payments/verify", account.user.headers, json=paid)

    def _granted(self, account: Account, checkout: Json, payment_id: str) -> PaidOrder:
        order = PaidOrder(
            checkout["order_id"],
            payment_id,
            checkout["provider"],
            checkout["total"],
            checkout["currency"],
            checkout["credits"] + checkout["bonus_credits"],
        )
        account.balance += order.granted
        account.orders.append(order)
        return order

    def rzp_purchase(self, account: Account, rng: random.Random) -> str:
        modes = [
            "verify",
            "webhooks",
            "both",
            "race",
            "refund_first",
            "fault_create",
            "fault_verify",
        ]
        mode = rng.choice(modes)
        faults = rng.randint(1, 2) if mode == "fault_create" else 0
        if not account.room(account.purchases, PURCHASES_PER_MINUTE, faults + 1) or not (
            account.room(account.verifies, VERIFIES_PER_MINUTE, 3)
        ):
            return self.usage(account, rng)  # near the rate limit: spend instead
        body, amount = self._purchase_body(account, rng)
        checkout = self._start_purchase(account, body, faults)
        quote = quote_purchase(amount)
        expect(
            (
                checkout["amount"],
                checkout["tax"],
                checkout["total"],
                checkout["credits"],
                checkout["bonus_credits"],
            )
            == (quote.amount, quote.tax, quote.total, quote.credits, quote.bonus_credits),
            f"purchase priced {checkout}, pricing says {quote}",
        )
        expect(checkout["status"] == "created", f"new order {checkout}")
        order_id, rzp_order = checkout["order_id"], checkout["provider_order_id"]

        if mode == "webhooks":
            self.razorpay.pay(rzp_order, webhooks=True)
            self.razorpay.wait_delivered()
            self._remember_events(account, rzp_order)
            status = self._order_status(account, order_id)
            expect(status["status"] == "paid", f"webhooks alone did not pay {status}")
            self._granted(account, checkout, status["provider_payment_id"])
            return f"{mode}: order {order_id} paid by webhooks, +{checkout['credits']}+bonus"

        paid = self.razorpay.pay(rzp_order)
        if mode == "race":
            return self._grant_race(account, checkout, paid)
        if mode == "refund_first":
            return self._refund_before_capture_event(account, checkout, paid, rng)
        if mode == "both":
            sent = self.razorpay.send("payment.captured", payment_id=paid["razorpay_payment_id"])
            expect(sent["status_code"] == 200, f"payment.captured answered {sent}")
            self.sent_events.append((account.uid, str(sent["event_id"])))
        if mode == "fault_verify":
            self.razorpay.post(
                "/_sandbox/faults", {"fail_next": 1, "status": 503, "path_prefix": "/v1/payments"}
            )
            failed = self._verify(account, paid)
            status_of(failed, 502)
            expect(
                self._order_status(account, order_id)["status"] == "created",
                "a verify that failed at the provider changed the order",
            )
            self.check([account])  # nothing granted
        response = self._verify(account, paid)
        status_of(response, 200)
        answer = response.json()
        order = self._granted(account, checkout, paid["razorpay_payment_id"])
        expect(
            (answer["status"], answer["credits_granted"], answer["balance"])
            == ("paid", order.granted, account.balance),
            f"verify answered {answer}, model granted {order.granted} to {account.balance}",
        )
        return f"{mode}: order {order_id} ({checkout['total']} paise) granted {order.granted}"

    def _grant_race(self, account: Account, checkout: Json, paid: Json) -> str:
        """Verify twice and two webhooks at once, for a new order: granted exactly once."""
        payment_id = paid["razorpay_payment_id"]
        with ThreadPoolExecutor(max_workers=4) as pool:
            verifies = [pool.submit(self._verify, account, paid) for _ in range(2)]
            hooks = [
                pool.submit(self.razorpay.send, "payment.captured", payment_id=payment_id),
                pool.submit(self.razorpay.send, "order.paid", payment_id=payment_id),
            ]
        order = self._granted(account, checkout, payment_id)
        for future in verifies:
            status_of(future.result(), 200)
            expect(future.result().json()["credits_granted"] == order.granted, "race verify")
        for hook in hooks:
            expect(hook.result()["status_code"] == 200, f"race webhook {hook.result()}")
            self.sent_events.append((account.uid, str(hook.result()["event_id"])))
        return f"race: 2 verifies and 2 webhooks at once granted {order.granted} once"

    def _refund_before_capture_event(
        self, account: Account, checkout: Json, paid: Json, rng: random.Random
    ) -> str:
        """Out of order: a refund's webhook comes before any capture event or verify."""
        payment_id = paid["razorpay_payment_id"]
        amount = rng.randint(1, checkout["total"])
        refund = self.razorpay.client.payment.refund(
            payment_id, {"amount": amount, "webhooks": False}
        )
        sent = self.razorpay.send("refund.processed", refund_id=refund["id"])
        expect(sent["status_code"] == 200, f"refund.processed first: {sent}")
        order = self._granted(account, checkout, payment_id)  # granted first, then clawed back
        credits = order.clawback(amount)
        order.refunded += amount
        account.balance -= credits
        late = self.razorpay.send("payment.captured", payment_id=payment_id)
        expect(late["status_code"] == 200, f"late payment.captured: {late}")
        self.sent_events += [
            (account.uid, str(sent["event_id"])),
            (account.uid, str(late["event_id"])),
        ]
        return (
            f"refund_first: {amount} of {checkout['total']} refunded before capture: "
            f"+{order.granted} -{credits}"
        )

    # ---- Stripe purchases --------------------------------------------------------------------
    def stripe_purchase(self, account: Account, rng: random.Random) -> str:
        if not account.room(account.purchases, PURCHASES_PER_MINUTE):
            return self.usage(account, rng)
        body = {"amount": rng.choice([1_500, 2_000, 6_100]), "currency": "usd"}
        account.note(account.purchases)
        response = self.http("POST", "/api/v1/credits/purchase", account.user.headers, json=body)
        status_of(response, 201)
        checkout = response.json()
        expect(checkout["provider"] == "stripe", f"a usd purchase went to {checkout['provider']}")
        intent = checkout["provider_order_id"]
        # What Stripe.js does with the client secret (localstripe: attach, then confirm).
        pm = payment_method(self.stripe_client, CARD_OK)
        self.stripe_client.v1.payment_intents.update(intent, params={"payment_method": pm})
        self.stripe_client.v1.payment_intents.confirm(intent)
        deadline = time.monotonic() + 20
        while (status := self._order_status(account, checkout["order_id"]))["status"] != "paid":
            expect(time.monotonic() < deadline, f"stripe order never paid: {status}")
            time.sleep(0.1)
        order = self._granted(account, checkout, intent)
        return f"stripe {body} order {checkout['order_id']} granted {order.granted}"

    # ---- usage -------------------------------------------------------------------------------
    def _event(self, account: Account, rng: random.Random) -> Json:
        if account.charged and rng.random() < 0.2:  # a service retrying an event it sent
            event_id = rng.choice(sorted(account.charged))
            amount = account.charged[event_id]
        else:
            event_id = f"ev-{account.uid[:8]}-{uuid.UUID(int=rng.getrandbits(128)).hex}"
            amount = spend_amount(rng)
        return {"user_id": account.uid, "service": "chaos", "amount": amount, "event_id": event_id}

    def _apply_usage(self, account: Account, event: Json, code: int, answer: Json) -> str:
        """Predict one usage outcome from the model, check it, then move the model."""
        event_id, amount = event["event_id"], event["amount"]
        if event_id in account.charged:
            expect(
                code in (200, 201) and answer.get("replayed") is True,
                f"a repeat of charged {event_id} answered {code} {answer}",
            )
            return "replayed"
        if amount > account.available:
            expect(code == 402, f"{amount} > available {account.available} answered {code}")
            return "402"
        expect(
            code in (200, 201) and not answer.get("replayed"),
            f"{amount} <= available {account.available} answered {code} {answer}",
        )
        account.balance -= amount
        account.charged[event_id] = amount
        expect(
            answer["balance_after"] == account.balance,
            f"usage balance_after {answer['balance_after']} != model {account.balance}",
        )
        return "charged"

    def usage(self, account: Account, rng: random.Random) -> str:
        event = self._event(account, rng)
        if event["event_id"] in account.charged and rng.random() < 0.25:
            # The same event id with another amount is a conflict, never a second charge.
            conflict = {**event, "amount": event["amount"] + 1}
            response = self.http("POST", "/api/v1/usage", self.service_headers, json=conflict)
            status_of(response, 409)
            return f"usage {event['event_id'][:12]} with another amount: 409"
        response = self.http("POST", "/api/v1/usage", self.service_headers, json=event)
        status_of(response, 201, 402)
        outcome = self._apply_usage(account, event, response.status_code, response.json())
        return f"usage {event['amount']} ({event['event_id'][:12]}): {outcome}"

    def usage_void(self, account: Account, rng: random.Random) -> str:
        """A service takes back a charge (within the window): once, a repeat answers the same."""
        if not account.charged:
            return "nothing charged to void"
        event_id = rng.choice(sorted(account.charged))
        path = f"/api/v1/usage/{event_id}/void"
        response = self.http("POST", path, self.service_headers, json={"service": "chaos"})
        answer = response.json()
        if event_id in account.voided:
            status_of(response, 200)
            first = account.voided[event_id]
            expect(answer == {**first, "replayed": True}, f"void repeat {answer} != {first}")
            return f"void {event_id[:12]} again: replayed"
        status_of(response, 201)
        account.balance += account.charged[event_id]
        account.voided[event_id] = answer
        expect(
            answer["balance_after"] == account.balance,
            f"void balance_after {answer['balance_after']} != model {account.balance}",
        )
        return f"void {event_id[:12]}: {account.charged[event_id]} back"

    def credits_check(self, account: Account, rng: random.Random) -> str:
        amount = spend_amount(rng)
        body = {"user_id": account.uid, "amount": amount}
        response = self.http("POST", "/api/v1/credits/check", self.service_headers, json=body)
        status_of(response, 200)
        expected = {"allowed": amount <= account.available, "available": account.available}
        expect(response.json() == expected, f"check {amount}: {response.json()} != {expected}")
        return f"check {amount}: {expected['allowed']}"

    def usage_batch(self, account: Account, rng: random.Random) -> str:
        events = [self._event(account, rng) for _ in range(rng.randint(2, 8))]
        if rng.random() < 0.5:
            events.insert(rng.randrange(len(events) + 1), dict(rng.choice(events)))  # a repeat
        response = self.http(
            "POST", "/api/v1/usage/batch", self.service_headers, json={"events": events}
        )
        status_of(response, 200)
        results = response.json()["data"]
        expect(len(results) == len(events), f"batch of {len(events)} answered {len(results)}")
        outcomes = []
        for event, result in zip(events, results, strict=True):
            expect(result["event_id"] == event["event_id"], f"batch result order {results}")
            code = 201 if result["status"] == "charged" else 0
            if result["status"] == "failed":
                expect(result["error"]["code"] == "insufficient_credits", f"batch {result}")
                code = 402
            outcomes.append(self._apply_usage(account, event, code, result))
        return f"batch of {len(events)}: {outcomes}"

    # ---- holds -------------------------------------------------------------------------------
    def hold_place(self, account: Account, rng: random.Random) -> str:
        amount = spend_amount(rng)
        short = rng.random() < 0.3
        hold_id = f"hold-{account.uid[:8]}-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        body: Json = {
            "user_id": account.uid,
            "service": "chaos",
            "amount": amount,
            "hold_id": hold_id,
        }
        if short:
            body["expires_in"] = 1
        response = self.http("POST", "/api/v1/holds", self.service_headers, json=body)
        if amount > account.available:
            status_of(response, 402)
            return f"hold {amount} > available {account.available}: 402"
        status_of(response, 201)
        expires_at = datetime.fromisoformat(response.json()["expires_at"])
        account.holds[hold_id] = OpenHold(hold_id, amount, expires_at, short)
        account.held += amount
        return f"hold {hold_id[:13]} of {amount}{' (expires in 1 s)' if short else ''}"

    def post_hold(self, hold_id: str, action: str, body: Json | None = None) -> requests.Response:
        path = f"/api/v1/holds/{hold_id}/{action}"
        return self.http("POST", path, self.service_headers, json=body or {})

    def _long_hold(self, account: Account, rng: random.Random) -> OpenHold | None:
        candidates = sorted(
            (h for h in account.holds.values() if not h.short), key=lambda h: h.hold_id
        )
        return rng.choice(candidates) if candidates else None

    def hold_capture(self, account: Account, rng: random.Random) -> str:
        if account.settled and rng.random() < 0.25:
            return self._settle_again(account, rng)
        hold = self._long_hold(account, rng)
        if hold is None:
            return self.hold_place(account, rng)
        amount = None if rng.random() < 0.3 else rng.randint(1, hold.amount)
        body = {} if amount is None else {"amount": amount}
        response = self.post_hold(hold.hold_id, "capture", body)
        captured = hold.amount if amount is None else amount
        if captured > account.balance:  # a clawback took reserved credits: it would overdraw
            status_of(response, 402)
            return f"capture of {captured} with balance {account.balance}: 402, hold kept"
        status_of(response, 200)
        answer = response.json()
        expect(
            (answer["status"], answer["captured"], answer["released"])
            == ("captured", captured, hold.amount - captured),
            f"capture answered {answer}",
        )
        self._close(account, hold, captured, answer)
        return f"captured {captured} of {hold.hold_id[:13]} ({hold.amount})"

    def _close(self, account: Account, hold: OpenHold, captured: int, answer: Json) -> None:
        del account.holds[hold.hold_id]
        account.held -= hold.amount
        account.balance -= captured
        account.settled[hold.hold_id] = answer

    def hold_release(self, account: Account, rng: random.Random) -> str:
        hold = self._long_hold(account, rng)
        if hold is None:
            return self.hold_place(account, rng)
        response = self.post_hold(hold.hold_id, "release")
        status_of(response, 200)
        answer = response.json()
        expect((answer["status"], answer["captured"]) == ("released", 0), f"release {answer}")
        self._close(account, hold, 0, answer)
        return f"released {hold.hold_id[:13]} ({hold.amount})"

    def _settle_again(self, account: Account, rng: random.Random) -> str:
        """A settled hold: the same settlement answers the same; another one is a 409."""
        hold_id = rng.choice(sorted(account.settled))
        first = account.settled[hold_id]
        if first["status"] == "captured":
            same = self.post_hold(hold_id, "capture", {"amount": first["captured"]})
            other = self.post_hold(hold_id, "release")
        else:  # released or expired: releasing again answers the same (expired: 409 again)
            same = self.post_hold(hold_id, "release")
            other = self.post_hold(hold_id, "capture", {"amount": 1})
        if first["status"] == "expired":
            status_of(same, 409)
        else:
            status_of(same, 200)
            expect(
                (same.json()["status"], same.json()["captured"])
                == (first["status"], first["captured"]),
                f"repeat {same.json()} vs {first}",
            )
        status_of(other, 409)
        return f"settled hold {hold_id[:13]} ({first['status']}) again: same answer, other 409"

    def _wait_short_holds(self) -> list[tuple[Account, OpenHold]]:
        due = [(a, h) for a in self.accounts for h in a.holds.values() if h.short]
        for _, hold in due:
            while datetime.now(UTC) <= hold.expires_at:
                time.sleep(0.05)
        return due

    def hold_expire(self, account: Account, rng: random.Random) -> str:
        due = self._wait_short_holds()
        response = self.http("POST", "/api/v1/holds/expire", self.scheduler_headers, json={})
        status_of(response, 200)
        expect(
            response.json()["expired"] >= len(due),
            f"expire answered {response.json()} for {len(due)} due holds of ours",
        )
        for owner, hold in due:
            self._close(owner, hold, 0, {"status": "expired", "captured": 0})
        self.check()  # every account: expiry is global
        return f"expired {len(due)} holds of ours ({response.json()['expired']} in all)"

    def capture_expired(self, account: Account, rng: random.Random) -> str:
        shorts = sorted((h for h in account.holds.values() if h.short), key=lambda h: h.hold_id)
        if not shorts:
            return self.hold_place(account, rng)
        hold = rng.choice(shorts)
        while datetime.now(UTC) <= hold.expires_at:
            time.sleep(0.05)
        due = [(account, hold)]
        if rng.random() < 0.5:
            response = self.post_hold(hold.hold_id, "capture")
        else:  # the scheduler's expiry races the capture: expired once, either way
            due = self._wait_short_holds()  # it expires every due hold, so wait for all of ours
            with ThreadPoolExecutor(max_workers=2) as pool:
                capture = pool.submit(self.post_hold, hold.hold_id, "capture")
                expiry = pool.submit(
                    self.http, "POST", "/api/v1/holds/expire", self.scheduler_headers, json={}
                )
            status_of(expiry.result(), 200)
            expect(expiry.result().json()["expired"] >= len(due) - 1, expiry.result().text)
            response = capture.result()
        status_of(response, 409)
        expect("expired" in response.json()["error"]["message"], response.text)
        for owner, expired in due:
            self._close(owner, expired, 0, {"status": "expired", "captured": 0})
        return f"capture after expiry of {hold.hold_id[:13]}: 409, released {hold.amount}"

    # ---- admin -------------------------------------------------------------------------------
    def admin_change(self, account: Account, rng: random.Random) -> str:
        adjust = rng.random() < 0.5
        amount = rng.randint(1, 50_000)
        if adjust:
            amount = rng.choice([-1, 1]) * spend_amount(rng)
        path = f"/api/v1/admin/credits/{'adjust' if adjust else 'grant'}"
        body = {"user_id": account.uid, "amount": amount, "reason": f"chaos step {self.seed}"}
        key = {"Idempotency-Key": uuid.UUID(int=rng.getrandbits(128)).hex}
        headers = {**self.admin.headers, **key}
        response = self.http("POST", path, headers, json=body)
        if amount < 0 and account.available + amount < 0:  # adjustments never overdraw
            status_of(response, 402)
            return f"{path.rsplit('/', 1)[1]} {amount} with available {account.available}: 402"
        status_of(response, 201)
        account.balance += amount
        expect(response.json()["balance_after"] == account.balance, f"admin {response.json()}")
        replays = ""
        if rng.random() < 0.5:  # the admin's client retries: the first answer, no second change
            again = self.http("POST", path, headers, json=body)
            status_of(again, 201)
            expect(again.json() == response.json(), f"replay {again.json()} != {response.json()}")
            changed = self.http("POST", path, headers, json={**body, "amount": amount + 1})
            status_of(changed, 422)
            replays = ", replayed (same answer) and reused with another body (422)"
        return f"{path.rsplit('/', 1)[1]} {amount}{replays}"

    # ---- refunds -----------------------------------------------------------------------------
    def rzp_refund(self, account: Account, rng: random.Random) -> str:
        orders = [o for o in account.orders if o.provider == "razorpay" and o.refundable]
        if not orders:
            return self.rzp_purchase(account, rng)
        order = rng.choice(orders)
        remaining = order.total - order.refunded
        amount = remaining if rng.random() < 0.3 else rng.randint(1, remaining)
        refund = self.razorpay.client.payment.refund(order.payment_id, {"amount": amount})
        self.razorpay.wait_delivered()  # refund.created, refund.processed
        self._remember_events(account, refund["id"])
        credits = order.clawback(amount)
        order.refunded += amount
        account.balance -= credits
        status = self._order_status(account, order.order_id)
        record = status.get("refunds", {}).get(refund["id"], {})
        expect(
            record.get("credits") == credits,
            f"refund {refund['id']} recorded {record}, model clawback {credits}",
        )
        if account.balance < 0:
            expect(
                record.get("overdraft") == min(credits, -account.balance),
                f"overdraft recorded {record}, balance {account.balance}",
            )
        return f"refund {amount} of {order.total} on {order.order_id}: clawback {credits}"

    def admin_refund(self, account: Account, rng: random.Random) -> str:
        """A refund started by us, through the order's provider: credits taken back once."""
        orders = [o for o in account.orders if o.refundable]
        if not orders:
            return self.rzp_purchase(account, rng)
        order = rng.choice(orders)
        remaining = order.total - order.refunded
        amount = None if rng.random() < 0.3 else rng.randint(1, remaining)
        body = {"reason": "random walk", **({} if amount is None else {"amount": amount})}
        path = f"/api/v1/admin/orders/{order.order_id}/refund"
        key = f"rw-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        headers = {**self.admin.headers, "Idempotency-Key": key}
        response = self.http("POST", path, headers, json=body)
        status_of(response, 201)
        refunded = remaining if amount is None else amount
        credits = order.clawback(refunded)
        answer = response.json()
        expect(
            (answer["amount"], answer["credits_taken_back"]) == (refunded, credits),
            f"admin refund {answer}, model: {refunded} refunded, clawback {credits}",
        )
        order.refunded += refunded
        account.balance -= credits
        again = self.http("POST", path, headers, json=body)  # a retry: no second refund
        status_of(again, 201)
        expect(again.json() == answer, f"retried admin refund {again.json()} != {answer}")
        if order.provider == "razorpay":
            self.razorpay.wait_delivered()  # its refund.created, refund.processed take nothing
            self._remember_events(account, answer["provider_refund_id"])
        return (
            f"admin refund {refunded} of {order.total} on {order.order_id} "
            f"({order.provider}): clawback {credits}, retry replayed"
        )

    def _remember_events(self, account: Account, entity_id: str) -> None:
        """Keep the ids of the webhooks the sandbox sent about ``entity_id``, to replay them."""
        url = f"{self.razorpay.stack.razorpay_url}/_sandbox/webhooks/sent"
        sent = requests.get(url, timeout=TIMEOUT).json()
        for hook in sent:
            expect(
                hook["status_code"] == 200 or entity_id not in hook["body"],
                f"webhook {hook['event']} about {entity_id} answered {hook['status_code']}",
            )
            if (
                entity_id in hook["body"]
                and (account.uid, hook["event_id"]) not in self.sent_events
            ):
                self.sent_events.append((account.uid, hook["event_id"]))

    # ---- second payments and disputes --------------------------------------------------------
    def _admin_order(self, order_id: str) -> Json:
        response = self.http("GET", f"/api/v1/admin/orders/{order_id}", self.admin.headers)
        status_of(response, 200)
        return dict(response.json())

    def second_payment(self, account: Account, rng: random.Random) -> str:
        """A late second payment on a paid Razorpay order: owed back, never credits."""
        orders = [o for o in account.orders if o.provider == "razorpay" and not o.charged_back]
        if not orders:
            return self.rzp_purchase(account, rng)
        order = rng.choice(orders)
        payment = self.razorpay.client.payment.fetch(order.payment_id)
        late = self.razorpay.post(f"/_sandbox/orders/{payment['order_id']}/pay", {"late": True})
        status_of(late, 200)
        second = str(late.json()["razorpay_payment_id"])
        self.razorpay.wait_delivered()
        self._remember_events(account, second)
        order.second_payments.append(second)
        recorded = self._admin_order(order.order_id)["second_payments"].get(second, {})
        expect(recorded.get("status") == "needs_refund", f"second payment recorded {recorded}")
        self.check([account])  # credits unchanged
        how = rng.choice(["admin", "support", "kept"])
        if how == "admin":
            path = f"/api/v1/admin/orders/{order.order_id}/refund"
            headers = {**self.admin.headers, "Idempotency-Key": self._id(account, rng)}
            body = {"reason": "paid twice", "payment_id": second}
            response = self.http("POST", path, headers, json=body)
            status_of(response, 201)
            answer = response.json()
            expect(
                (answer["amount"], answer["credits_taken_back"]) == (order.total, 0),
                f"second payment refund {answer}",
            )
        elif how == "support":  # refunded in Razorpay's dashboard
            self.razorpay.client.payment.refund(second, {"amount": order.total})
        if how != "kept":
            self.razorpay.wait_delivered()
            self._remember_events(account, second)
            recorded = self._admin_order(order.order_id)["second_payments"][second]
            expect(recorded["status"] == "refunded", f"refunded second payment {recorded}")
        return f"second payment {second} on {order.order_id}: {how}, credits untouched"

    def dispute(self, account: Account, rng: random.Random) -> str:
        """A dispute of a paid order, won or lost; a lost one takes back what a refund would."""
        orders = [o for o in account.orders if o.refundable]
        if not orders:
            return self.rzp_purchase(account, rng)
        order = rng.choice(orders)
        amount = order.total - order.refunded
        outcome = rng.choice(["lost", "won", "open"])
        if order.provider == "razorpay":
            opened = self.razorpay.post(
                f"/_sandbox/payments/{order.payment_id}/dispute", {"amount": amount}
            )
            status_of(opened, 200)
            dispute_id = str(opened.json()["id"])
            if outcome != "open":
                status_of(self.razorpay.post(f"/_sandbox/disputes/{dispute_id}/{outcome}"), 200)
            self.razorpay.wait_delivered()
            self._remember_events(account, dispute_id)
        else:
            dispute_id = self._stripe_dispute(order, amount, outcome, rng)
        if outcome == "lost":
            credits = order.clawback(amount)
            order.refunded += amount
            order.charged_back = True
            account.balance -= credits
            view = self._admin_order(order.order_id)
            recorded = view["chargebacks"].get(dispute_id, {})
            expect(recorded.get("credits") == credits, f"chargeback {recorded}, model {credits}")
        return f"dispute {dispute_id} of {amount} on {order.order_id} ({order.provider}): {outcome}"

    def _stripe_dispute(
        self, order: PaidOrder, amount: int, outcome: str, rng: random.Random
    ) -> str:
        from tests.e2e.test_stripe_webhooks import event, send

        dispute_id = f"dp_{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
        dispute = {
            "id": dispute_id,
            "object": "dispute",
            "payment_intent": order.payment_id,
            "amount": amount,
            "currency": order.currency,
            "reason": "fraudulent",
        }
        steps = [("created", "needs_response"), ("funds_withdrawn", "needs_response")]
        if outcome != "open":
            steps.append(("closed", outcome))
        secret = self.razorpay.stack.stripe_webhook_secret
        for kind, status in steps:
            body = event(f"charge.dispute.{kind}", {**dispute, "status": status})
            for _ in range(rng.randint(1, 2)):  # sometimes delivered twice
                status_of(send(self.gateway, body, secret, path="/api/v1/webhooks/stripe"), 200)
        return dispute_id

    # ---- replays -----------------------------------------------------------------------------
    def replay(self, account: Account, rng: random.Random) -> str:
        kind = rng.choice(["event", "event", "fresh_event", "verify", "stripe_event"])
        orders = [o for o in account.orders if o.provider == "razorpay"]
        if kind == "event" and self.sent_events:
            uid, event_id = rng.choice(self.sent_events)
            replayed = self.razorpay.replay(event_id)
            expect(replayed["status_code"] == 200, f"replay of {event_id}: {replayed}")
            return f"replayed razorpay event {event_id} (of {uid[:8]})"
        if kind == "verify" and orders and account.room(account.verifies, VERIFIES_PER_MINUTE):
            order = rng.choice(orders)
            paid = self._checkout_result(order)
            response = self._verify(account, paid)
            status_of(response, 200)
            expect(response.json()["balance"] == account.balance, f"verify {response.json()}")
            expect(response.json()["credits_granted"] == order.granted, response.text)
            return f"verify again of {order.order_id}: already granted"
        if kind == "stripe_event":
            stripe_orders = [o for o in account.orders if o.provider == "stripe"]
            if stripe_orders:
                return self._stripe_success_again(rng.choice(stripe_orders))
        if orders:
            order = rng.choice(orders)
            event = rng.choice(["payment.captured", "order.paid"])
            sent = self.razorpay.send(event, payment_id=order.payment_id)
            expect(sent["status_code"] == 200, f"{event}: {sent}")
            self.sent_events.append((account.uid, str(sent["event_id"])))
            return f"fresh {event} for paid {order.order_id}: nothing more granted"
        return self.usage(account, rng)

    def _checkout_result(self, order: PaidOrder) -> Json:
        import hashlib
        import hmac

        payment = self.razorpay.client.payment.fetch(order.payment_id)
        message = f"{payment['order_id']}|{order.payment_id}".encode()
        secret = self.razorpay.stack.razorpay_key_secret.encode()
        return {
            "razorpay_order_id": payment["order_id"],
            "razorpay_payment_id": order.payment_id,
            "razorpay_signature": hmac.new(secret, message, hashlib.sha256).hexdigest(),
        }

    def _stripe_success_again(self, order: PaidOrder) -> str:
        from tests.e2e.test_stripe_webhooks import event, send

        succeeded = {
            "id": order.payment_id,
            "object": "payment_intent",
            "amount": order.total,
            "amount_received": order.total,
            "currency": order.currency,
            "status": "succeeded",
            "metadata": {"credit_order_id": order.order_id},
        }
        response = send(
            self.gateway,
            event("payment_intent.succeeded", succeeded),
            self.razorpay.stack.stripe_webhook_secret,
        )
        status_of(response, 200)
        return f"another payment_intent.succeeded for {order.order_id}: nothing more granted"

    def _id(self, account: Account, rng: random.Random) -> str:
        """An id drawn from the step's rng, unique to this run's account."""
        return f"{account.uid[:8]}-{uuid.UUID(int=rng.getrandbits(128)).hex}"

    # ---- concurrent callers ------------------------------------------------------------------
    def burst(self, account: Account, rng: random.Random) -> str:
        """Several callers at once on one account. What they ask for fits the available credits,
        so every outcome is determined (no 402), whatever order they land in; a hold's capture
        and release race too, and exactly one settlement must win."""
        calls = self._burst_plan(account, rng)
        settle = self._long_hold(account, rng) if rng.random() < 0.5 else None
        if settle is not None:  # two captures of all and a release race for one hold
            race = {"hold": settle.hold_id}
            calls += [("capture", race), ("capture", race), ("release", race)]
        # Only after a clawback of reserved credits can a capture exceed the balance (402).
        may_overdraw = settle is not None and settle.amount > account.balance
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            responses = list(pool.map(lambda call: self._fire(account, *call), calls))

        charged_ids: dict[str, str] = {}
        settled: list[Json] = []
        for (kind, args), response in zip(calls, responses, strict=True):
            if kind in ("capture", "release"):
                status_of(response, 200, 409, *([402] if may_overdraw else []))
                settled += [response.json()] if response.status_code == 200 else []
                continue
            status_of(response, 200 if kind == "batch" else 201)
            answer = response.json()
            if kind in ("usage", "batch"):
                events = args["events"] if kind == "batch" else [args]
                answers = answer["data"] if kind == "batch" else [answer]
                for event, result in zip(events, answers, strict=True):
                    self._burst_usage(account, event, result, charged_ids)
            elif kind == "hold":
                hold_id = f"hold-{args['id']}"
                expires_at = datetime.fromisoformat(answer["expires_at"])
                account.holds[hold_id] = OpenHold(hold_id, args["amount"], expires_at, False)
                account.held += args["amount"]
            else:
                account.balance += args["amount"] * (-1 if kind == "adjust" else 1)
        if settle is not None:
            outcomes = {(s["status"], s["captured"]) for s in settled}
            expect(len(outcomes) == 1, f"hold {settle.hold_id} settled as {outcomes}")
            ((_, captured),) = outcomes
            self._close(account, settle, captured, settled[0])
        return f"{len(calls)} concurrent calls {[k for k, _ in calls]}: all as predicted"

    def _burst_usage(
        self, account: Account, event: Json, result: Json, charged_ids: dict[str, str]
    ) -> None:
        event_id = f"burst-{event['id']}"
        expect(result.get("status", "charged") == "charged", f"burst usage {result}")
        if event_id in charged_ids:
            expect(
                result["transaction_id"] == charged_ids[event_id],
                f"a duplicate usage was charged twice: {result}",
            )
            return
        charged_ids[event_id] = result["transaction_id"]
        account.balance -= event["amount"]
        account.charged[event_id] = event["amount"]

    def _burst_plan(self, account: Account, rng: random.Random) -> list[tuple[str, Json]]:
        budget = max(account.available, 0)
        calls: list[tuple[str, Json]] = []
        for _ in range(rng.randint(4, 8)):
            kind = rng.choice(["usage", "usage", "hold", "adjust", "grant", "duplicate", "batch"])
            share = budget // 8
            if kind in ("usage", "hold", "adjust") and share >= 1:
                amount = rng.randint(1, share)
                budget -= amount
                calls.append((kind, {"amount": amount, "id": self._id(account, rng)}))
            elif kind in ("duplicate", "batch") and calls and calls[-1][0] == "usage":
                # The same event twice at once: on its own, or inside a batch with a new one.
                again = dict(calls[-1][1])
                if kind == "batch" and share >= 1:
                    amount = rng.randint(1, share)
                    budget -= amount
                    fresh = {"amount": amount, "id": self._id(account, rng)}
                    calls.append(("batch", {"events": [again, fresh]}))
                else:
                    calls.append(("usage", again))
            else:
                amount = rng.randint(1, 5_000)
                calls.append(("grant", {"amount": amount, "id": self._id(account, rng)}))
        return calls

    def _fire(self, account: Account, kind: str, args: Json) -> requests.Response:
        if kind in ("capture", "release"):
            return self.post_hold(args["hold"], kind)
        if kind in ("grant", "adjust"):
            amount = args["amount"] * (-1 if kind == "adjust" else 1)
            body = {"user_id": account.uid, "amount": amount, "reason": "burst"}
            headers = {**self.admin.headers, "Idempotency-Key": args["id"]}
            return self.http("POST", f"/api/v1/admin/credits/{kind}", headers, json=body)
        if kind == "batch":
            events = [
                {"user_id": account.uid, "service": "chaos", "amount": e["amount"],
                 "event_id": f"burst-{e['id']}"}
                for e in args["events"]
            ]  # fmt: skip
            return self.http("POST", "/api/v1/usage/batch", self.service_headers,
                             json={"events": events})  # fmt: skip
        body = {"user_id": account.uid, "service": "chaos", "amount": args["amount"]}
        if kind == "hold":
            return self.http(
                "POST",
                "/api/v1/holds",
                self.service_headers,
                json={**body, "hold_id": f"hold-{args['id']}"},
            )
        return self.http(
            "POST",
            "/api/v1/usage",
            self.service_headers,
            json={**body, "event_id": f"burst-{args['id']}"},
        )
