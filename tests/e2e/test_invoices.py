"""GST tax invoices and credit notes through the gateway, as a buyer, an admin and Razorpay or
Stripe would reach them: a Razorpay purchase and a Stripe USD purchase each get one invoice with
the right tax split, an admin refund gets a credit note, and each reads back as JSON and as PDF."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import RazorpaySandbox, User, eventually, make_admin, sign_up
from tests.e2e.test_stripe_credit_purchases import confirm_as_stripe_js, wait_for_balance

pytestmark = pytest.mark.stack

MAHARASHTRA_BUYER = {
    "name": "Pune Analytics LLP",
    "address": "4 FC Road, Pune 411004",
    "gstin": "27AAPFU0939F1ZV",
}


def call(gateway: str, method: str, path: str, user: User, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{gateway}{path}", headers=user.headers, timeout=60, **kwargs)


def invoices(gateway: str, user: User, **params: str) -> list[dict[str, Any]]:
    response = call(gateway, "GET", "/api/v1/invoices", user, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def bought_with_razorpay(gateway: str, user: User, razorpay: RazorpaySandbox) -> str:
    started = call(
        gateway,
        "POST",
        "/api/v1/credits/purchase",
        user,
        json={"amount": 500_00, "currency": "INR"},
    )
    assert started.status_code == 201, started.text
    paid = razorpay.pay(started.json()["provider_order_id"], webhooks=True)
    verified = call(gateway, "POST", "/api/v1/payments/verify", user, json=paid)
    assert verified.status_code == 200, verified.text
    razorpay.wait_delivered()  # payment.captured and order.paid: the same order, granted once
    return str(started.json()["order_id"])


def test_a_razorpay_purchase_gets_one_inter_state_invoice_readable_as_json_and_pdf(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    saved = call(gateway, "PUT", "/api/v1/billing/details", user, json=MAHARASHTRA_BUYER)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["state"], saved.json()["state_name"]) == ("27", "Maharashtra")

    order_id = bought_with_razorpay(gateway, user, razorpay_sandbox)

    [invoice] = invoices(gateway, user)  # verify and two webhooks paid it: one invoice
    assert (invoice["kind"], invoice["order_id"], invoice["supply"]) == (
        "invoice", order_id, "inter_state",
    )  # fmt: skip
    assert invoice["number"].startswith("INV/") and invoice["place_of_supply"] == "Maharashtra (27)"
    # The seller is in Karnataka (devstack), the buyer in Maharashtra: IGST 18 %.
    assert (invoice["taxable_value"], invoice["igst_rate"], invoice["igst"]) == (500_00, 18, 90_00)
    assert (invoice["cgst"], invoice["sgst"], invoice["total"]) == (0, 0, 590_00)
    assert invoice["buyer"]["gstin"] == "27AAPFU0939F1ZV"
    assert invoice["total_in_words"] == "Rupees Five Hundred Ninety Only"

    one = call(gateway, "GET", f"/api/v1/invoices/{invoice['invoice_id']}", user)
    assert (one.status_code, one.json()) == (200, invoice)
    pdf = call(gateway, "GET", invoice["pdf_url"], user)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert call(gateway, "GET", invoice["pdf_url"], user).content == pdf.content  # same bytes
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert invoice["number"] in text and "IGST @ 18%" in text

    stranger = sign_up(stack)
    for path in (f"/api/v1/invoices/{invoice['invoice_id']}", invoice["pdf_url"]):
        assert call(gateway, "GET", path, stranger).status_code == 404
    assert invoices(gateway, stranger) == []
    admin = make_admin(stack, sign_up(stack))
    assert invoices(gateway, admin, user_id=user.uid) == [invoice]
    assert call(gateway, "GET", invoice["pdf_url"], admin).status_code == 200
    refused = call(gateway, "GET", "/api/v1/invoices", stranger, params={"user_id": user.uid})
    assert refused.status_code == 403


def test_a_stripe_usd_purchase_from_abroad_gets_a_zero_rated_export_invoice(
    gateway: str, user: User, stripe_client: Any
) -> None:
    abroad = {"name": "Acme Inc", "address": "1 Market St, San Francisco", "country": "US"}
    assert call(gateway, "PUT", "/api/v1/billing/details", user, json=abroad).status_code == 200
    started = call(
        gateway, "POST", "/api/v1/credits/purchase", user, json={"amount": 2000, "currency": "usd"}
    )
    assert started.status_code == 201, started.text
    confirm_as_stripe_js(stripe_client, started.json()["provider_order_id"])
    assert wait_for_balance(gateway, user, 191_475) == 191_475

    # The webhook's grant commit shows in the balance a moment before its invoice is recorded.
    [invoice] = eventually(lambda: invoices(gateway, user)) or [None]
    assert (invoice["supply"], invoice["currency"], invoice["total"]) == (
        "export_under_lut", "usd", 2000,
    )  # fmt: skip
    assert (invoice["cgst"], invoice["sgst"], invoice["igst"], invoice["igst_rate"]) == (0, 0, 0, 0)
    # $20.00 at the rate used (8325 paise per dollar) is ₹1,665.00 of value.
    assert (invoice["inr_value"], invoice["fx_rate"]) == (166_500, "8325")
    assert invoice["lut_reference"] and invoice["place_of_supply"] == "Outside India (US)"


def test_an_admin_refund_gets_a_credit_note_reversing_the_invoice(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    order_id = bought_with_razorpay(gateway, user, razorpay_sandbox)  # no details: seller's state
    admin = make_admin(stack, sign_up(stack))
    refunded = requests.post(
        f"{gateway}/api/v1/admin/orders/{order_id}/refund",
        json={"reason": "customer asked", "amount": 295_00},
        headers=admin.headers,
        timeout=60,
    )
    assert refunded.status_code == 201, refunded.text
    razorpay_sandbox.wait_delivered()  # refund.created, refund.processed: no second note

    note, invoice = invoices(gateway, user)  # newest first
    assert (invoice["kind"], invoice["supply"]) == ("invoice", "intra_state")
    assert (invoice["cgst"], invoice["sgst"]) == (45_00, 45_00)
    assert (note["kind"], note["invoice_number"]) == ("credit_note", invoice["number"])
    assert note["number"].startswith("CN/")
    assert (note["taxable_value"], note["cgst"], note["sgst"], note["total"]) == (
        250_00, 22_50, 22_50, 295_00,
    )  # fmt: skip

    # The bank cannot pay the refund: its credits come back, its note stays, no second one.
    refund_id = refunded.json()["provider_refund_id"]
    assert razorpay_sandbox.post(f"/_sandbox/refunds/{refund_id}/fail").status_code == 200
    razorpay_sandbox.wait_delivered()  # refund.failed
    assert invoices(gateway, user) == [note, invoice]


def test_a_stripe_refund_gets_a_zero_rated_credit_note_in_the_currency_paid(
    gateway: str, user: User, stripe_client: Any, stack: Stack
) -> None:
    abroad = {"name": "Acme Inc", "address": "San Francisco", "country": "US"}
    assert call(gateway, "PUT", "/api/v1/billing/details", user, json=abroad).status_code == 200
    started = call(
        gateway, "POST", "/api/v1/credits/purchase", user, json={"amount": 2000, "currency": "usd"}
    )
    confirm_as_stripe_js(stripe_client, started.json()["provider_order_id"])
    assert eventually(lambda: invoices(gateway, user))
    admin = make_admin(stack, sign_up(stack))
    refunded = requests.post(
        f"{gateway}/api/v1/admin/orders/{started.json()['order_id']}/refund",
        json={"reason": "customer asked"},  # all that is left
        headers=admin.headers,
        timeout=60,
    )
    assert refunded.status_code == 201, refunded.text

    found = eventually(lambda: len(invoices(gateway, user)) == 2)
    assert found, invoices(gateway, user)
    note, invoice = invoices(gateway, user)
    assert (note["kind"], note["supply"], note["currency"]) == (
        "credit_note", "export_under_lut", "usd",
    )  # fmt: skip
    assert (note["total"], note["igst"], note["inr_value"]) == (2000, 0, 166_500)
    assert note["invoice_number"] == invoice["number"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**MAHARASHTRA_BUYER, "gstin": "27AAPFU0939F1ZW"}, "gstin"),
        ({**MAHARASHTRA_BUYER, "gstin": None, "state": "99"}, "state"),
        ({"address": "x"}, "name"),
    ],
)
def test_bad_billing_details_are_a_400_naming_the_field_and_nothing_is_saved(
    gateway: str, user: User, body: dict[str, Any], field: str
) -> None:
    refused = call(gateway, "PUT", "/api/v1/billing/details", user, json=body)
    assert refused.status_code == 400, refused.text
    assert field in refused.json()["error"]["details"]["fields"]
    assert call(gateway, "GET", "/api/v1/billing/details", user).status_code == 404


def test_the_service_client_reads_invoices_pdfs_and_billing_details(
    gateway: str, user: User, razorpay_sandbox: RazorpaySandbox, stack: Stack
) -> None:
    from billing_client import InvalidRequest, InvoiceReader, NotFound

    reader = InvoiceReader(gateway, lambda: user.token)
    with pytest.raises(InvalidRequest) as bad:
        reader.save_billing_details("Pune LLP", "Pune", gstin="27AAPFU0939F1ZW")
    assert "gstin" in str(bad.value)
    reader.save_billing_details("Pune LLP", "Pune", gstin="27AAPFU0939F1ZV")
    order_id = bought_with_razorpay(gateway, user, razorpay_sandbox)

    [invoice] = reader.invoices()
    assert (invoice["order_id"], invoice["igst"]) == (order_id, 90_00)
    assert reader.invoice(invoice["invoice_id"]) == invoice
    assert reader.invoice_pdf(invoice["invoice_id"]).startswith(b"%PDF-")
    admin = make_admin(stack, sign_up(stack))
    as_admin = InvoiceReader(gateway, lambda: admin.token)
    assert list(as_admin.invoices(user_id=user.uid)) == [invoice]
    assert as_admin.billing_details(user_id=user.uid)["gstin"] == "27AAPFU0939F1ZV"
    with pytest.raises(NotFound):
        InvoiceReader(gateway, lambda: sign_up(stack).token).invoice(invoice["invoice_id"])
