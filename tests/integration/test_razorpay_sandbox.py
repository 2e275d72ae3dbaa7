"""The Razorpay sandbox, driven through the official razorpay SDK as the service will drive it."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import razorpay
import requests

from devstack.processes import free_port
from devstack.razorpay_sandbox import build_app, serve
from shared.errors import ProviderError

KEY_ID = "rzp_test_sandbox"
KEY_SECRET = "sandbox-key-secret"
WEBHOOK_SECRET = "sandbox-webhook-secret"


@dataclass
class Received:
    body: str
    signature: str
    event_id: str

    @property
    def event(self) -> str:
        return str(json.loads(self.body)["event"])


@dataclass
class Receiver:
    """A tiny webhook endpoint: records each POST and answers with ``status``."""

    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout), (
                f"expected {count} webhooks, got {[r.event for r in self.received]}"
            )
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            with state.arrived:
                state.received.append(
                    Received(
                        body,
                        self.headers["X-Razorpay-Signature"],
                        self.headers["x-razorpay-event-id"],
                    )
                )
                state.arrived.notify_all()
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/razorpay"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class Sandbox:
    url: str
    client: Any  # razorpay.Client; the SDK is untyped

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body or {}, timeout=10)

    def pay(self, order_id: str, **body: Any) -> dict[str, str]:
        response = self.post(f"/_sandbox/orders/{order_id}/pay", body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def order(self, amount: int = 50000, **extra: Any) -> dict[str, Any]:
        return dict(self.client.order.create({"amount": amount, "currency": "INR", **extra}))


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    app = build_app(KEY_ID, KEY_SECRET, webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET)
    port = free_port()
    server, thread = serve(app, port)
    client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=f"http://127.0.0.1:{port}")
    yield Sandbox(f"http://127.0.0.1:{port}", client)
    client.session.close()
    app.extensions["razorpay_sandbox"].wait_delivered(5)
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_create_and_fetch_order(sandbox: Sandbox) -> None:
    order = sandbox.order(29900, receipt="rcpt-1", notes={"uid": "u1"})
    assert order["id"].startswith("order_") and len(order["id"]) == len("order_") + 14
    assert order == {
        "id": order["id"],
        "entity": "order",
        "amount": 29900,
        "amount_paid": 0,
        "amount_due": 29900,
        "currency": "INR",
        "receipt": "rcpt-1",
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": {"uid": "u1"},
        "created_at": order["created_at"],
    }
    assert sandbox.client.order.fetch(order["id"]) == order
    assert sandbox.client.order.payments(order["id"]) == {
        "entity": "collection",
        "count": 0,
        "items": [],
    }


def test_order_validation_errors(sandbox: Sandbox) -> None:
    with pytest.raises(razorpay.errors.BadRequestError, match=r"at least INR 1\.00"):
        sandbox.order(99)
    with pytest.raises(razorpay.errors.BadRequestError, match="integer"):
        sandbox.order(100.5)  # type: ignore[arg-type]
    with pytest.raises(razorpay.errors.BadRequestError, match="currency"):
        sandbox.client.order.create({"amount": 500})
    with pytest.raises(razorpay.errors.BadRequestError, match="does not exist"):
        sandbox.client.order.fetch("order_doesnotexist00")
    response = requests.post(
        f"{sandbox.url}/v1/orders",
        json={"amount": 5, "currency": "INR"},
        auth=(KEY_ID, KEY_SECRET),
        timeout=5,
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "BAD_REQUEST_ERROR" and error["field"] == "amount"


def test_wrong_credentials_are_rejected(sandbox: Sandbox) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    wrong = razorpay.Client(auth=(KEY_ID, "not-the-secret"), base_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(razorpay.errors.BadRequestError, match="Authentication failed"):
            wrong.order.create({"amount": 500, "currency": "INR"})
    finally:
        wrong.session.close()
    response = requests.get(f"{sandbox.url}/v1/orders/order_x", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "BAD_REQUEST_ERROR"


def test_checkout_signature_and_captured_payment(sandbox: Sandbox) -> None:
    order = sandbox.order(50000)
    result = sandbox.pay(order["id"], email="a@example.test")
    assert set(result) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    assert sandbox.client.utility.verify_payment_signature(result) is True
    tampered = {**result, "razorpay_payment_id": "pay_someoneelses0"}
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        sandbox.client.utility.verify_payment_signature(tampered)

    payment = sandbox.client.payment.fetch(result["razorpay_payment_id"])
    assert payment["entity"] == "payment" and payment["id"].startswith("pay_")
    assert payment["status"] == "captured" and payment["captured"] is True
    assert payment["amount"] == 50000 and payment["currency"] == "INR"
    assert payment["order_id"] == order["id"] and payment["method"] == "card"
    assert payment["email"] == "a@example.test"
    assert payment["amount_refunded"] == 0 and payment["refund_status"] is None
    assert payment["error_code"] is None and payment["fee"] > payment["tax"] > 0

    paid = sandbox.client.order.fetch(order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == (
        "paid",
        50000,
        0,
        1,
    )
    assert sandbox.client.order.payments(order["id"])["items"] == [payment]
    with pytest.raises(razorpay.errors.BadRequestError, match="already been captured"):
        sandbox.client.payment.capture(payment["id"], 50000, {"currency": "INR"})


def test_manual_capture(sandbox: Sandbox) -> None:
    order = sandbox.order(20000)
    payment_id = sandbox.pay(order["id"], capture=False, webhooks=False)["razorpay_payment_id"]
    assert sandbox.client.payment.fetch(payment_id)["status"] == "authorized"
    assert sandbox.client.order.fetch(order["id"])["status"] == "attempted"
    with pytest.raises(razorpay.errors.BadRequestError, match="equal to the amount"):
        sandbox.client.payment.capture(payment_id, 19999, {"currency": "INR"})
    captured = sandbox.client.payment.capture(payment_id, 20000, {"currency": "INR"})
    assert captured["status"] == "captured" and captured["captured"] is True
    assert sandbox.client.order.fetch(order["id"])["status"] == "paid"


def test_partial_then_full_refund(sandbox: Sandbox) -> None:
    order = sandbox.order(50000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]

    first = sandbox.client.payment.refund(payment_id, {"amount": 20000, "notes": {"why": "x"}})
    assert first["id"].startswith("rfnd_")
    assert first == {
        "id": first["id"],
        "entity": "refund",
        "amount": 20000,
        "currency": "INR",
        "payment_id": payment_id,
        "notes": {"why": "x"},
        "receipt": None,
        "acquirer_data": {"arn": None},
        "created_at": first["created_at"],
        "batch_id": None,
        "status": "processed",
        "speed_processed": "normal",
        "speed_requested": "normal",
    }
    payment = sandbox.client.payment.fetch(payment_id)
    assert (payment["amount_refunded"], payment["refund_status"], payment["status"]) == (
        20000,
        "partial",
        "captured",
    )

    with pytest.raises(razorpay.errors.BadRequestError, match="greater than amount captured"):
        sandbox.client.payment.refund(payment_id, {"amount": 30001})

    rest = sandbox.client.payment.refund(payment_id)  # no amount: the rest
    assert rest["amount"] == 30000
    assert sandbox.client.refund.fetch(rest["id"]) == rest
    payment = sandbox.client.payment.fetch(payment_id)
    assert (payment["amount_refunded"], payment["refund_status"], payment["status"]) == (
        50000,
        "full",
        "refunded",
    )
    assert sandbox.client.order.fetch(order["id"])["status"] == "paid"  # stays paid, per docs
    with pytest.raises(razorpay.errors.BadRequestError):
        sandbox.client.payment.refund(payment_id, {"amount": 100})


def test_payment_webhooks_are_signed_and_shaped(sandbox: Sandbox, receiver: Receiver) -> None:
    order = sandbox.order(50000)
    payment_id = sandbox.pay(order["id"])["razorpay_payment_id"]
    got = receiver.wait_for(3)
    assert [r.event for r in got] == ["payment.authorized", "payment.captured", "order.paid"]
    assert len({r.event_id for r in got}) == 3
    for hook in got:
        assert (
            sandbox.client.utility.verify_webhook_signature(
                hook.body, hook.signature, WEBHOOK_SECRET
            )
            is True
        )
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        sandbox.client.utility.verify_webhook_signature(
            got[1].body.replace("50000", "90000"), got[1].signature, WEBHOOK_SECRET
        )

    authorized, captured, paid = (json.loads(r.body) for r in got)
    assert set(captured) == {"entity", "account_id", "event", "contains", "payload", "created_at"}
    assert captured["entity"] == "event" and captured["account_id"].startswith("acc_")
    assert captured["contains"] == ["payment"]
    assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"  # a snapshot
    assert captured["payload"]["payment"]["entity"]["id"] == payment_id
    assert captured["payload"]["payment"]["entity"]["status"] == "captured"
    assert paid["contains"] == ["payment", "order"]
    assert paid["payload"]["order"]["entity"]["status"] == "paid"

    # The receiver can see the last hook before the sandbox has recorded its answer: wait for
    # the sandbox's delivery queue to drain before reading what it recorded.
    sandbox.post("/_sandbox/webhooks/wait", {"timeout": 5})
    sent = requests.get(f"{sandbox.url}/_sandbox/webhooks/sent", timeout=5).json()
    assert [(s["event"], s["status_code"]) for s in sent] == [
        ("payment.authorized", 200),
        ("payment.captured", 200),
        ("order.paid", 200),
    ]
    assert [s["body"] for s in sent] == [r.body for r in got]


def test_failed_payment_webhook(sandbox: Sandbox, receiver: Receiver) -> None:
    order = sandbox.order(10000)
    response = sandbox.post(
        f"/_sandbox/orders/{order['id']}/fail", {"error_description": "Card declined"}
    )
    payment = response.json()
    assert payment["status"] == "failed" and payment["captured"] is False
    assert payment["error_code"] == "BAD_REQUEST_ERROR"
    assert payment["error_description"] == "Card declined"
    (hook,) = receiver.wait_for(1)
    assert hook.event == "payment.failed"
    assert sandbox.client.utility.verify_webhook_signature(
        hook.body, hook.signature, WEBHOOK_SECRET
    )
    assert json.loads(hook.body)["payload"]["payment"]["entity"]["id"] == payment["id"]
    assert sandbox.client.order.fetch(order["id"])["status"] == "attempted"


def test_refund_webhooks(sandbox: Sandbox, receiver: Receiver) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    refund = sandbox.client.payment.refund(payment_id, {"amount": 1000})
    got = receiver.wait_for(2)
    assert [r.event for r in got] == ["refund.created", "refund.processed"]
    body = json.loads(got[1].body)
    assert body["contains"] == ["refund", "payment"]
    assert body["payload"]["refund"]["entity"]["id"] == refund["id"]
    assert body["payload"]["payment"]["entity"]["refund_status"] == "partial"


def test_send_and_replay_webhooks(sandbox: Sandbox, receiver: Receiver) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    assert receiver.received == []

    sent = sandbox.post(
        "/_sandbox/webhooks/send", {"event": "order.paid", "order_id": order["id"]}
    ).json()
    assert sent["status_code"] == 200
    replay = sandbox.post("/_sandbox/webhooks/send", {"event_id": sent["event_id"]}).json()
    assert replay["event_id"] == sent["event_id"]
    first, second = receiver.wait_for(2)
    assert (first.body, first.signature, first.event_id) == (
        second.body,
        second.signature,
        second.event_id,
    )
    assert json.loads(first.body)["payload"]["payment"]["entity"]["id"] == payment_id

    receiver.status = 500
    failing = sandbox.post(
        "/_sandbox/webhooks/send", {"event": "payment.captured", "payment_id": payment_id}
    ).json()
    assert failing["status_code"] == 500
    bad = sandbox.post(
        "/_sandbox/webhooks/send", {"event": "refund.processed", "payment_id": payment_id}
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "refund"


def test_unreachable_webhook_url_is_recorded(sandbox: Sandbox) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    assert sandbox.post("/_sandbox/webhooks/config", {"url": dead}).status_code == 200
    order = sandbox.order(10000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    result = sandbox.post(
        "/_sandbox/webhooks/send", {"event": "payment.captured", "payment_id": payment_id}
    ).json()
    assert result["status_code"] is None and "Connection refused" in result["error"]


def test_injected_faults_fail_the_next_calls_then_clear(sandbox: Sandbox) -> None:
    order = sandbox.order()
    set_faults = sandbox.post("/_sandbox/faults", {"fail_next": 2, "status": 503})
    assert set_faults.json() == {
        "fail_next": 2, "status": 503, "path_prefix": "/v1/", "failed": 0}  # fmt: skip
    for _ in range(2):
        with pytest.raises(razorpay.errors.ServerError, match="server encountered an error"):
            sandbox.client.order.fetch(order["id"])
    assert sandbox.client.order.fetch(order["id"])["id"] == order["id"]  # the third call is served
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json()["failed"] == 2

    # Narrowed to a path: order calls pass, the payment fetch fails (a 502 is a GATEWAY_ERROR).
    paid = sandbox.pay(order["id"])
    sandbox.post("/_sandbox/faults", {"fail_next": 1, "status": 502, "path_prefix": "/v1/payments"})
    assert sandbox.client.order.fetch(order["id"])["status"] == "paid"
    with pytest.raises(razorpay.errors.GatewayError):
        sandbox.client.payment.fetch(paid["razorpay_payment_id"])
    assert sandbox.client.payment.fetch(paid["razorpay_payment_id"])["status"] == "captured"
    assert sandbox.post("/_sandbox/faults", {"fail_next": 1, "status": 200}).status_code == 400


def test_a_retried_order_create_returns_the_order_the_lost_answer_made(sandbox: Sandbox) -> None:
    from shared.adapters.razorpay_gateway import RazorpayGateway

    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.url)
    first = gateway.create_order("ord_retried", 59000, "inr", {"order_id": "ord_retried"})
    # The first answer was lost: the service retries the same purchase with the same receipt.
    again = gateway.create_order("ord_retried", 59000, "inr", {"order_id": "ord_retried"})
    assert again.id == first.id
    listed = sandbox.client.order.all({"receipt": "ord_retried"})
    assert [o["id"] for o in listed["items"]] == [first.id], "one order per receipt"
    # Another purchase never takes over a receipt's order.
    with pytest.raises(ProviderError):
        gateway.create_order("ord_retried", 11800, "inr", {"order_id": "ord_retried"})


def test_checkout_script_is_served_at_checkouts_own_path(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/checkout.razorpay.com/v1/checkout.js", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert "window.Razorpay = Razorpay" in response.text


def test_checkout_calls_from_a_page_pass_the_browsers_cors_check(sandbox: Sandbox) -> None:
    order = sandbox.order()
    origin = "http://127.0.0.1:5999"
    path = f"{sandbox.url}/_sandbox/orders/{order['id']}/pay"
    preflight = requests.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    paid = requests.post(path, json={"key_id": KEY_ID}, headers={"Origin": origin}, timeout=5)
    assert paid.status_code == 200 and paid.headers["Access-Control-Allow-Origin"] == origin
    # The API itself is server-to-server: no CORS answer for a page.
    api = requests.get(
        f"{sandbox.url}/v1/orders/{order['id']}",
        auth=(KEY_ID, KEY_SECRET),
        headers={"Origin": origin},
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in api.headers


def test_checkout_with_another_accounts_key_pays_nothing(sandbox: Sandbox) -> None:
    order = sandbox.order()
    for action in ("pay", "fail"):
        response = sandbox.post(
            f"/_sandbox/orders/{order['id']}/{action}", {"key_id": "rzp_test_someone_else"}
        )
        assert response.status_code == 401, response.text
    assert sandbox.client.order.payments(order["id"])["count"] == 0


def test_a_refund_retried_with_its_idempotency_key_is_the_first_refund_again(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    body = {"amount": 1000, "speed": "normal", "notes": {"why": "retry"}, "receipt": "r-1"}
    key = {"headers": {"X-Refund-Idempotency": "refund-key-0001"}}

    first = sandbox.client.payment.refund(payment_id, dict(body), **key)
    again = sandbox.client.payment.refund(payment_id, dict(body), **key)

    assert again == first
    assert (first["receipt"], first["speed_requested"], first["notes"]) == (
        "r-1",
        "normal",
        {"why": "retry"},
    )
    assert sandbox.client.payment.fetch(payment_id)["amount_refunded"] == 1000  # refunded once
    listed = sandbox.client.payment.fetch_multiple_refund(payment_id)
    assert [r["id"] for r in listed["items"]] == [first["id"]]
    assert [r.event for r in receiver.wait_for(2)] == ["refund.created", "refund.processed"]
    sandbox.post("/_sandbox/webhooks/wait", {"timeout": 5})
    assert len(receiver.received) == 2  # the replay sent no second pair of webhooks

    with pytest.raises(razorpay.errors.BadRequestError, match="Different request"):
        sandbox.client.payment.refund(payment_id, {**body, "amount": 2000}, **key)
    with pytest.raises(razorpay.errors.BadRequestError, match="at least 10 characters"):
        sandbox.client.payment.refund(
            payment_id, dict(body), headers={"X-Refund-Idempotency": "short"}
        )
    another = sandbox.client.payment.refund(
        payment_id, dict(body), headers={"X-Refund-Idempotency": "refund-key-0002"}
    )
    assert another["id"] != first["id"]  # a new key is a new refund


def test_refund_requests_are_checked_as_razorpay_documents_them(sandbox: Sandbox) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    with pytest.raises(razorpay.errors.BadRequestError, match="speed is invalid"):
        sandbox.client.payment.refund(payment_id, {"amount": 100, "speed": "fast"})
    with pytest.raises(razorpay.errors.BadRequestError, match="should not be sent"):
        sandbox.client.payment.refund(payment_id, {"amount": 100, "reason": "x"})
    too_many = {f"k{n}": "v" for n in range(16)}
    with pytest.raises(razorpay.errors.BadRequestError, match="notes"):
        sandbox.client.payment.refund(payment_id, {"amount": 100, "notes": too_many})
    instant = sandbox.client.payment.refund(payment_id, {"amount": 100, "speed": "optimum"})
    assert (instant["speed_requested"], instant["speed_processed"]) == ("optimum", "instant")
    assert sandbox.client.payment.fetch(payment_id)["amount_refunded"] == 100


def test_a_failed_refund_sends_refund_failed_and_its_amount_is_refundable_again(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    refund = sandbox.client.payment.refund(payment_id, {"amount": 30000})
    assert sandbox.client.payment.fetch(payment_id)["status"] == "refunded"

    failed = sandbox.post(f"/_sandbox/refunds/{refund['id']}/fail").json()

    assert failed["status"] == "failed"
    assert sandbox.client.refund.fetch(refund["id"])["status"] == "failed"
    payment = sandbox.client.payment.fetch(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "captured",
        0,
        None,
    )
    hooks = receiver.wait_for(3)
    assert [r.event for r in hooks] == ["refund.created", "refund.processed", "refund.failed"]
    assert json.loads(hooks[2].body)["payload"]["refund"]["entity"]["status"] == "failed"
    assert sandbox.client.payment.refund(payment_id, {"amount": 30000})["amount"] == 30000


def test_our_gateway_refunds_once_per_key_and_lists_the_orders_refunds(sandbox: Sandbox) -> None:
    from shared.adapters.razorpay_gateway import RazorpayGateway
    from shared.payments.providers import RefundStatus

    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.url)
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    notes = {"billing_reservation_id": "ord_1_0001"}

    made = gateway.refund_payment(payment_id, 12000, notes, "credit-refund-ord_1_0001")
    again = gateway.refund_payment(payment_id, 12000, notes, "credit-refund-ord_1_0001")

    assert again == made
    assert (made.amount, made.status, made.returning_money, made.notes) == (
        12000,
        RefundStatus.SUCCEEDED,
        True,
        notes,
    )
    assert gateway.refunds_of(order["id"]) == [made]
    sandbox.post(f"/_sandbox/refunds/{made.id}/fail")
    [failed] = gateway.refunds_of(order["id"])
    assert (failed.status, failed.returning_money) == (RefundStatus.FAILED, False)


def test_a_late_second_payment_on_a_paid_order_is_captured_and_its_refunds_name_it(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    from shared.adapters.razorpay_gateway import RazorpayGateway

    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.url)
    order = sandbox.order(30000)
    first = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    refused = sandbox.post(f"/_sandbox/orders/{order['id']}/pay", {"webhooks": False})
    assert refused.status_code == 400, refused.text  # Checkout refuses a paid order...
    # ...but an attempt the bank authorises late is captured all the same.
    late = sandbox.post(f"/_sandbox/orders/{order['id']}/pay", {"late": True})
    second = late.json()["razorpay_payment_id"]
    events = [r.event for r in receiver.wait_for(2)]
    assert events == ["payment.authorized", "payment.captured"]  # no second order.paid
    payments = sandbox.client.order.payments(order["id"])["items"]
    assert [(p["id"], p["status"]) for p in payments] == [
        (first, "captured"),
        (second, "captured"),
    ]
    assert sandbox.client.order.fetch(order["id"])["amount_paid"] == 30000

    gateway.refund_payment(second, 30000, {}, "second-payment-refund-1")
    [refund] = gateway.refunds_of(order["id"])
    assert (refund.payment_id, refund.amount) == (second, 30000)


def test_disputes_follow_razorpays_entity_and_webhooks(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    order = sandbox.order(30000)
    payment_id = sandbox.pay(order["id"], webhooks=False)["razorpay_payment_id"]
    opened = sandbox.post(f"/_sandbox/payments/{payment_id}/dispute").json()
    assert opened["id"].startswith("disp_") and opened["entity"] == "dispute"
    assert {k: opened[k] for k in ("payment_id", "amount", "currency", "amount_deducted")} == {
        "payment_id": payment_id,
        "amount": 30000,
        "currency": "INR",
        "amount_deducted": 0,
    }
    assert (opened["status"], opened["phase"]) == ("open", "chargeback")
    assert {"reason_code", "respond_by", "created_at"} <= set(opened)

    lost = sandbox.post(f"/_sandbox/disputes/{opened['id']}/lost").json()
    assert (lost["status"], lost["amount_deducted"]) == ("lost", 30000)
    assert sandbox.post(f"/_sandbox/disputes/{opened['id']}/won").status_code == 400  # final
    assert (
        requests.get(
            f"{sandbox.url}/v1/disputes/{opened['id']}", auth=(KEY_ID, KEY_SECRET), timeout=5
        ).json()
        == lost
    )

    created, closed = receiver.wait_for(2)
    assert (created.event, closed.event) == ("payment.dispute.created", "payment.dispute.lost")
    body = json.loads(closed.body)
    assert body["contains"] == ["payment", "dispute"]
    assert body["payload"]["dispute"]["entity"]["status"] == "lost"
    assert body["payload"]["payment"]["entity"]["id"] == payment_id
