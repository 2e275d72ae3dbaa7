"""The billing portal as a person uses it: Chromium against the stack the tests start.

Every scenario signs in through the Auth emulator, pays through the providers' own browser
scripts (the sandbox's Razorpay Checkout, localstripe's Stripe.js) and reads what the service
answers. Screenshots of each step land in test-artifacts/portal/<test>/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.stack import Stack
from tests.conftest import User, make_admin, sign_up
from tests.e2e.portal_browser import (
    CHROMIUM_FLAGS,
    DESKTOP,
    PHONE,
    STEP_TIMEOUT_MS,
    TIME_ZONE,
    Portal,
    chromium_path,
    open_portal,
)
from tests.e2e.stripe_helpers import CARD_3DS, CARD_INSUFFICIENT_FUNDS, CARD_OK

pytestmark = pytest.mark.stack
MINUS = "\u2212"  # how the portal writes a debit, as typography does


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the session (if missing: a skip, a failure under CI)."""
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def portal(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Portal]:
    opened = open_portal(browser, stack.gateway_url, request.node.name)
    yield opened
    opened.page.context.close()
    assert not opened.errors, f"the page raised: {opened.errors}"


def balance_of(gateway: str, user: User) -> int:
    response = requests.get(f"{gateway}/api/v1/credits/balance", headers=user.headers, timeout=10)
    response.raise_for_status()
    return int(response.json()["balance"])


def admin_change(gateway: str, admin: User, kind: str, user: User, amount: int) -> None:
    body: dict[str, Any] = {
        "user_id": user.uid,
        "amount": amount,
        "reason": f"{kind} for the portal test",
    }
    response = requests.post(
        f"{gateway}/api/v1/admin/credits/{kind}", json=body, headers=admin.headers, timeout=10
    )
    assert response.status_code == 201, response.text


SIGN_IN_BUTTONS = ["Sign in", "Create account"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_signed_out_visitor_sees_the_sign_in_form_and_no_sign_out(
    browser: Any, stack: Stack, user: User, request: pytest.FixtureRequest, viewport: Any
) -> None:
    portal = open_portal(browser, stack.gateway_url, request.node.name, viewport=viewport)
    portal.shot("signed-out")
    assert portal.seen("button") == SIGN_IN_BUTTONS
    assert portal.seen("nav, #portal, #admin") == []

    portal.sign_in(user)
    assert "Sign out" in portal.seen("button")
    assert portal.seen("#sign-in") == []
    with portal.page.expect_navigation():  # signing out reloads the page
        portal.page.get_by_role("button", name="Sign out").click()
    portal.expect(portal.page.locator("#sign-in")).to_be_visible()
    portal.shot("signed-out-again")
    assert portal.seen("button") == SIGN_IN_BUTTONS
    portal.page.context.close()
    assert not portal.errors, portal.errors


def test_a_user_buys_a_package_through_razorpay_checkout(portal: Portal, user: User) -> None:
    portal.shot("signed-out")
    portal.sign_in(user)
    assert portal.figure("Balance") == "0.00"
    portal.choose_package("Basic", "Razorpay (UPI, cards, netbanking)")
    # GST and bonus are shown before paying.
    summary = portal.page.locator("#buy-summary")
    portal.expect(summary).to_have_text(
        "Basic: you pay ₹590.00 (GST ₹90.00 included) and get 550.00 credits, 50.00 of them bonus."
    )
    portal.shot("package-chosen")

    portal.continue_to_payment()
    checkout = portal.checkout()
    portal.expect(checkout).to_contain_text("₹590.00")
    portal.shot("checkout-open")
    # A failed attempt (payment.failed) is reported while Checkout stays open for another try.
    checkout.get_by_role("button", name="Failure").click()
    portal.expect(portal.page.locator("#buy-error")).to_have_text(
        "Payment failed: Payment failed because the bank declined it"
    )
    portal.shot("attempt-failed")
    checkout.get_by_role("button", name="Success").click()

    portal.expect(portal.result()).to_have_text("Payment received: 550.00 credits added.")
    portal.expect(portal.page.locator("#balance")).to_have_text("550.00")
    portal.expect(portal.page.locator("#buy-error")).to_be_empty()
    orders = portal.page.locator("#orders-table tbody tr")
    portal.expect(orders).to_have_count(1)
    portal.expect(orders.first).to_contain_text("Paid")
    portal.expect(portal.page.locator("#history-table tbody tr")).to_have_count(2)
    portal.shot("credits-added")
    assert balance_of(portal.url, user) == 55_000
    # Beside a long description a date still takes one line.
    for date in portal.page.locator("tbody td:first-child").all():
        assert portal.lines(date) == 1, date.inner_text()


def test_a_user_pays_by_card_with_3d_secure(portal: Portal, user: User) -> None:
    portal.sign_in(user)
    portal.choose_package("Starter", "Card (Stripe)")
    portal.continue_to_payment()
    portal.fill_card(CARD_3DS)
    portal.shot("card-entered")
    portal.page.get_by_role("button", name="Pay ₹118.00").click()

    # Stripe.js asks the bank to authenticate the card holder (3-D Secure).
    authenticate = portal.page.get_by_role("button", name="Complete authentication")
    portal.expect(authenticate).to_be_visible()
    portal.shot("3d-secure")
    authenticate.click()

    # The credits come with Stripe's signed webhook; the page waits for the order to be paid.
    portal.expect(portal.result()).to_have_text("Payment received: 100.00 credits added.")
    portal.expect(portal.page.locator("#balance")).to_have_text("100.00")
    portal.expect(portal.page.locator("#card-payment")).to_be_hidden()
    portal.shot("credits-added")
    assert balance_of(portal.url, user) == 10_000


def test_a_declined_card_says_why_and_another_card_pays(portal: Portal, user: User) -> None:
    portal.sign_in(user)
    portal.choose_package("Starter", "Card (Stripe)")
    portal.continue_to_payment()
    portal.fill_card(CARD_INSUFFICIENT_FUNDS)
    pay = portal.page.get_by_role("button", name="Pay ₹118.00")
    pay.click()
    problem = portal.page.get_by_role("alert").filter(has_text="Payment failed")
    portal.expect(problem).to_have_text("Payment failed: Your card has insufficient funds.")
    portal.shot("card-declined")
    assert balance_of(portal.url, user) == 0

    portal.fill_card(CARD_OK)
    pay.click()
    portal.expect(portal.result()).to_have_text("Payment received: 100.00 credits added.")
    portal.expect(portal.page.locator("#balance")).to_have_text("100.00")
    portal.shot("second-card-paid")


def test_history_pages_and_filters(portal: Portal, stack_env: Stack) -> None:
    user = sign_up(stack_env)
    admin = make_admin(stack_env, sign_up(stack_env))
    for _ in range(11):
        admin_change(portal.url, admin, "grant", user, 100_00)
    admin_change(portal.url, admin, "adjust", user, -50_00)
    portal.sign_in(user)
    rows = portal.page.locator("#history-table tbody tr")
    page_label = portal.page.locator("#history-page")

    portal.expect(rows).to_have_count(10)
    portal.expect(rows.first).to_contain_text("Adjustment")
    portal.expect(rows.first).to_contain_text("1,050.00")  # balance after the newest entry
    portal.expect(page_label).to_have_text("Page 1")
    portal.expect(portal.page.get_by_role("button", name="Previous page").first).to_be_disabled()
    portal.shot("history-page-1")
    next_page = portal.page.locator("#history-next")
    next_page.click()
    portal.expect(page_label).to_have_text("Page 2")
    portal.expect(rows).to_have_count(2)
    portal.expect(next_page).to_be_disabled()
    portal.shot("history-page-2")
    portal.page.locator("#history-prev").click()
    portal.expect(page_label).to_have_text("Page 1")
    portal.expect(rows).to_have_count(10)

    filters = portal.page.locator("#history-filters")
    filters.get_by_label("Type").select_option("adjustment")
    filters.get_by_role("button", name="Apply filters").click()
    portal.expect(rows).to_have_count(1)
    portal.expect(rows.first).to_contain_text(f"{MINUS}50.00")
    portal.shot("history-adjustments")

    today = datetime.now(ZoneInfo(TIME_ZONE)).date()
    filters.get_by_label("Type").select_option("")
    filters.get_by_label("From").fill(today.isoformat())
    filters.get_by_label("To").fill(today.isoformat())
    filters.get_by_role("button", name="Apply filters").click()
    portal.expect(page_label).to_have_text("Page 1")
    portal.expect(rows).to_have_count(10)
    filters.get_by_label("From").fill((today + timedelta(days=1)).isoformat())
    filters.get_by_label("To").fill((today + timedelta(days=2)).isoformat())
    filters.get_by_role("button", name="Apply filters").click()
    portal.expect(rows).to_have_text(["No entries to show."])
    filters.get_by_label("To").fill(today.isoformat())
    filters.get_by_role("button", name="Apply filters").click()
    portal.expect(portal.page.locator("#history-error")).to_have_text(
        'The "To" date must not be before the "From" date.'
    )
    portal.shot("history-dates")


def test_the_low_balance_threshold_is_set_and_kept(portal: Portal, user: User) -> None:
    portal.sign_in(user)
    threshold = portal.page.get_by_label("Low-balance alert below (credits)")
    portal.expect(threshold).to_have_value("50.00")  # the default, ₹50
    threshold.fill("twelve")
    portal.page.get_by_role("button", name="Save threshold").click()
    portal.expect(portal.page.locator("#threshold-error")).to_have_text(
        "Enter a number of credits, e.g. 50 or 12.50."
    )
    portal.expect(threshold).to_have_attribute("aria-invalid", "true")
    portal.shot("threshold-refused")

    threshold.fill("120.5")
    portal.page.get_by_role("button", name="Save threshold").click()
    portal.expect(portal.page.locator("#announcer")).to_have_text(
        "Low-balance alert set to 120.50 credits"
    )
    portal.expect(portal.page.locator("#threshold-error")).to_be_empty()
    portal.shot("threshold-saved")
    account = requests.get(
        f"{portal.url}/api/v1/credits/account", headers=user.headers, timeout=10
    ).json()
    assert account["low_balance_threshold"] == 12_050
    portal.page.reload()
    portal.wait_ready()
    portal.expect(threshold).to_have_value("120.50")


def test_usage_is_charted_by_day_and_by_service(
    portal: Portal, stack_env: Stack, service_headers: dict[str, str]
) -> None:
    user = sign_up(stack_env)
    admin = make_admin(stack_env, sign_up(stack_env))
    admin_change(portal.url, admin, "grant", user, 10_000)
    for service, amount in [("ai", 1_250), ("ai", 750), ("search", 300)]:
        body: dict[str, Any] = {"user_id": user.uid, "service": service, "amount": amount,
                                "event_id": uuid.uuid4().hex}  # fmt: skip
        response = requests.post(
            f"{portal.url}/api/v1/usage", json=body, headers=service_headers, timeout=10
        )
        assert response.status_code == 201, response.text
    portal.sign_in(user)
    caption = portal.page.locator("#usage-caption")
    portal.expect(caption).to_have_text("23.00 credits used in the last 30 days, by day.")
    chart = portal.page.get_by_role("img", name=re.compile("credits used"))
    portal.expect(chart.locator("rect.bar")).to_have_count(1)
    portal.shot("usage-by-day")

    portal.page.get_by_label("Service", exact=True).check()
    portal.expect(caption).to_have_text("23.00 credits used in the last 30 days, by service.")
    portal.expect(chart.locator("rect.bar")).to_have_count(2)
    portal.page.get_by_text("Show as a table").click()
    table = portal.page.locator("#usage-chart table tbody tr")
    portal.expect(table).to_have_text([re.compile(r"ai\s*20\.00\s*2"),
                                       re.compile(r"search\s*3\.00\s*1")])  # fmt: skip
    portal.shot("usage-by-service")


def test_an_admin_finds_an_account_and_grants_credits(
    portal: Portal, stack_env: Stack, user: User
) -> None:
    admin = make_admin(stack_env, sign_up(stack_env))
    portal.sign_in(admin)
    admin_view = portal.page.locator("#admin")
    portal.expect(admin_view).to_be_visible()
    admin_view.get_by_label("Find an account by email or user id").fill("nobody@example.test")
    admin_view.get_by_role("button", name="Find").click()
    portal.expect(portal.page.locator("#admin-find-error")).to_have_text(
        "No account with that email or user id."
    )
    admin_view.get_by_label("Find an account by email or user id").fill(user.email)
    admin_view.get_by_role("button", name="Find").click()
    portal.expect(portal.page.locator("#admin-uid")).to_have_text(user.uid)
    portal.expect(portal.page.locator("#admin-balance")).to_have_text("0.00")
    portal.shot("account-found")

    admin_view.get_by_label("Credits", exact=True).fill("25")
    admin_view.get_by_role("button", name="Apply").click()
    portal.expect(portal.page.locator("#admin-change-error")).to_have_text(
        "Say why: the reason is kept in the ledger."
    )
    admin_view.get_by_label("Reason").fill("Goodwill after an outage")
    admin_view.get_by_role("button", name="Apply").click()
    portal.expect(portal.page.locator("#admin-change-result")).to_have_text(
        "Granted 25.00 credits; balance now 25.00."
    )
    portal.expect(portal.page.locator("#admin-balance")).to_have_text("25.00")
    ledger = portal.page.locator("#admin-ledger tbody tr")
    portal.expect(ledger).to_have_count(1)
    portal.expect(ledger.first).to_contain_text("Goodwill after an outage")
    portal.shot("credits-granted")

    admin_view.get_by_label(f"Adjust (+ or {MINUS})").check()
    admin_view.get_by_label("Credits", exact=True).fill("-5")
    admin_view.get_by_label("Reason").fill("Double grant")
    admin_view.get_by_role("button", name="Apply").click()
    portal.expect(portal.page.locator("#admin-balance")).to_have_text("20.00")
    portal.expect(ledger).to_have_count(2)
    portal.shot("credits-adjusted")
    assert balance_of(portal.url, user) == 2_000


def charge(gateway: str, path: str, headers: dict[str, str], **body: Any) -> None:
    """What the user's own backend does with a service token: a hold, or usage charged."""
    response = requests.post(f"{gateway}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text


LISTEN_CHANNEL = "/google.firestore.v1.Firestore/Listen/channel"
# In the page: onBalance's listener pointed at ``uid`` (an Auth stand-in names the user; the
# Firestore is the portal's own, signed in as the portal's user). Its first answer: a balance, or
# the error's code.
LISTEN_AS_THE_SIGNED_IN_USER_TO = """async (uid) => {
  const sdk = await import('/sdk/billing-client.js');  // the page's own module: its app and user
  const app = sdk.getApp();
  const firestore = sdk.getFirestore(app);
  const auth = {app, onAuthStateChanged: (next) => { next({uid}); return () => {}; }};
  return await new Promise((resolve) => {
    const stop = sdk.createBillingClient({auth, firestore}).onBalance(
      (live) => { resolve({balance: live.balance}); setTimeout(() => stop()); },
      (error) => resolve({error: error.code}));
  });
}"""


@dataclass
class Traffic:
    """What the page asked for and logged, to tell a live update from a reload or a re-read."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, portal: Portal) -> Traffic:
        traffic = cls()
        portal.page.on("request", lambda request: traffic.requests.append(request.url))
        portal.page.on("console", lambda message: traffic.console.append(message.text))
        return traffic

    def count(self, part: str) -> int:
        return sum(part in url for url in self.requests)


LIVE_WAIT_MS = 60_000


def expect_live(portal: Portal, traffic: Traffic, figures: dict[str, str]) -> None:
    """Each named figure of the balance panel shows its text (Playwright's wait for each).

    Up to 60 s: twice in about 80 runs under load a change took over 30 s to arrive. The
    browser SDK gives a silent WebChannel stream 45 s before it reconnects, so a wait shorter
    than that would fail a listener that recovers as designed.
    """
    try:
        for name, text in figures.items():
            figure = portal.page.locator(f"#{name.lower()}")
            portal.expect(figure).to_have_text(text, timeout=LIVE_WAIT_MS)
    except AssertionError as error:
        channel = [url for url in traffic.requests if LISTEN_CHANNEL in url]
        raise AssertionError(
            f"{error}\nconsole: {traffic.console}\nListen channel requests: {channel}"
        ) from None


def test_the_balance_follows_changes_made_elsewhere_live(
    portal: Portal, stack_env: Stack, service_headers: dict[str, str]
) -> None:
    user = sign_up(stack_env)
    admin = make_admin(stack_env, sign_up(stack_env))
    traffic = Traffic.of(portal)
    portal.sign_in(user)
    expect_live(portal, traffic, {"Balance": "0.00", "Held": "0.00", "Available": "0.00"})
    note = portal.page.locator("#low-balance-note")
    portal.expect(note).to_be_visible()  # nothing available, below the default 50.00
    portal.page.evaluate("window.samePage = true")  # gone if anything reloads the page
    api_reads = traffic.count("/api/v1/")

    # Changes the page has no part in: an admin's grant, then the user's backend holding and
    # charging credits with its service token.
    admin_change(portal.url, admin, "grant", user, 100_00)
    expect_live(portal, traffic, {"Balance": "100.00", "Held": "0.00", "Available": "100.00"})
    portal.expect(note).to_be_hidden()
    portal.shot("granted-elsewhere")
    charge(portal.url, "/api/v1/holds", service_headers, user_id=user.uid, service="ai",
           amount=40_00)  # fmt: skip
    expect_live(portal, traffic, {"Balance": "100.00", "Held": "40.00", "Available": "60.00"})
    charge(portal.url, "/api/v1/usage", service_headers, user_id=user.uid, service="search",
           amount=25_00, event_id=uuid.uuid4().hex)  # fmt: skip
    expect_live(portal, traffic, {"Balance": "75.00", "Held": "40.00", "Available": "35.00"})
    portal.expect(note).to_be_visible()  # below 50.00 again
    portal.shot("charged-elsewhere")
    assert [text for text in portal.seen("[role=alert]") if text] == []

    # Live: the same page, and no request to the API since sign-in. The listener's transport is
    # the browser SDK's WebChannel to the emulator, streaming (CI=0), not long polling (CI=1).
    assert portal.page.evaluate("window.samePage") is True
    assert traffic.count("/api/v1/") == api_reads
    emulator = f"http://127.0.0.1:{stack_env.ports.firestore}{LISTEN_CHANNEL}?"
    channel = [url for url in traffic.requests if url.startswith(emulator)]
    backchannel = [url for url in channel if "TYPE=xmlhttp" in url.split("&")]
    assert backchannel, traffic.requests
    assert all("CI=0" in url.split("&") for url in backchannel), backchannel

    # Through the rules: with the signed-in user's Firestore, their own document is read and
    # another user's is refused.
    listen = LISTEN_AS_THE_SIGNED_IN_USER_TO
    assert portal.page.evaluate(listen, user.uid) == {"balance": 75_00}
    assert portal.page.evaluate(listen, admin.uid) == {"error": "permission-denied"}


def test_a_refused_live_balance_leaves_the_figures_read_from_the_api(
    portal: Portal, stack_env: Stack
) -> None:
    user = sign_up(stack_env)
    admin = make_admin(stack_env, sign_up(stack_env))
    admin_change(portal.url, admin, "grant", user, 30_00)
    traffic = Traffic.of(portal)

    # The listener's stream opens without the user's ID token (WebChannel sends the headers in
    # its first request's body): the rules refuse it (permission-denied), as they would a stale
    # or foreign session.
    def without_the_token(route: Any) -> None:
        body = route.request.post_data
        if body is None:
            route.continue_()
        else:
            route.continue_(post_data=re.sub(r"(%0D%0A)?Authorization%3A[^&%]+", "", body))

    portal.page.route(f"**{LISTEN_CHANNEL}?*", without_the_token)
    portal.sign_in(user)
    expect_live(portal, traffic, {"Balance": "30.00", "Held": "0.00", "Available": "30.00"})
    refused = re.compile(r"Live balance unavailable.*permission-denied")
    for _ in range(100):
        if any(refused.search(text) for text in traffic.console):
            break
        portal.page.wait_for_timeout(100)
    assert any(refused.search(text) for text in traffic.console), traffic.console
    assert [text for text in portal.seen("[role=alert]") if text] == []  # nothing alarming
    portal.shot("live-balance-refused")

    # The page's own changes still read the API: a grant made meanwhile shows with the next one.
    admin_change(portal.url, admin, "grant", user, 20_00)
    portal.page.get_by_role("button", name="Save threshold").click()
    expect_live(portal, traffic, {"Balance": "50.00", "Held": "0.00", "Available": "50.00"})


def test_the_admin_view_is_only_for_admins(portal: Portal, user: User) -> None:
    portal.sign_in(user)
    portal.expect(portal.page.locator("#admin")).to_be_hidden()
    portal.expect(portal.page.get_by_role("link", name="Admin")).to_be_hidden()


# Contrast of text against the background it is drawn on (WCAG 2 relative luminance), and the
# widest element, measured in the page.
READABILITY = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const node of document.querySelectorAll('body *')) {
    const text = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !node.getClientRects().length) continue;
    const style = getComputedStyle(node);
    if (style.visibility === 'hidden' || style.opacity === '0') continue;
    const [a, b] = [lum(rgb(style.color)), lum(background(node))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5 && !node.closest('button:disabled')) {
      const text = node.textContent.trim().slice(0, 30);
      low.push(`${node.tagName}#${node.id} "${text}" ${ratio.toFixed(2)}`);
    }
  }
  const unlabelled = [...document.querySelectorAll('input, select')]
    .filter((i) => i.type !== 'hidden' && !i.labels.length && !i.getAttribute('aria-label'))
    .map((i) => i.id || i.name);
  return {low, unlabelled, overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


def test_a_phone_user_signs_in_and_pays_with_the_keyboard(
    browser: Any, stack: Stack, user: User, request: pytest.FixtureRequest
) -> None:
    portal = open_portal(browser, stack.gateway_url, request.node.name, viewport=PHONE)
    keyboard = portal.page.keyboard
    for _ in range(10):  # from the top of the page, Tab reaches the sign-in form
        keyboard.press("Tab")
        if portal.page.evaluate("document.activeElement.id") == "email":
            break
    keyboard.type(user.email)
    keyboard.press("Tab")
    keyboard.type("correct-horse-9")
    keyboard.press("Enter")
    portal.wait_ready()
    portal.shot("signed-in-with-the-keyboard")
    readable = portal.page.evaluate(READABILITY)
    assert readable == {"low": [], "unlabelled": [], "overflow": 0}

    buy = portal.page.get_by_role("button", name="Continue to payment")
    buy.focus()
    keyboard.press("Enter")
    portal.checkout()
    keyboard.press("Escape")  # closing Checkout (modal.ondismiss) charges nothing
    portal.expect(portal.page.locator("#announcer")).to_have_text(
        "Payment cancelled; you were not charged."
    )
    buy.focus()
    keyboard.press("Enter")
    portal.expect(portal.checkout().get_by_role("button", name="Success")).to_be_focused()
    portal.shot("checkout-on-a-phone")
    keyboard.press("Enter")
    portal.expect(portal.result()).to_have_text("Payment received: 100.00 credits added.")
    portal.shot("paid-on-a-phone")
    assert portal.page.evaluate(READABILITY)["overflow"] == 0
    portal.page.context.close()
    assert not portal.errors, portal.errors


def assert_fits(portal: Portal) -> None:
    overflowing = portal.overflowing()
    assert not overflowing, "\n".join(["drawn past the viewport or out of its box:", *overflowing])


def test_every_view_fits_a_390px_phone(
    browser: Any, stack_env: Stack, request: pytest.FixtureRequest
) -> None:
    # An address as long as real ones get, and a history with every column filled.
    user = sign_up(stack_env, f"firstname.lastname.{uuid.uuid4().hex[:8]}@accounts.example.test")
    admin = make_admin(stack_env, sign_up(stack_env))
    gateway = stack_env.gateway_url
    for amount in (1_000_000_00, 25_00):
        admin_change(gateway, admin, "grant", user, amount)
    admin_change(gateway, admin, "adjust", user, -1_250_50)
    ordered = requests.post(f"{gateway}/api/v1/credits/purchase", json={"package_id": "basic"},
                            headers=user.headers, timeout=20)  # fmt: skip
    assert ordered.status_code == 201, ordered.text

    portal = open_portal(browser, gateway, f"{request.node.name}-user", viewport=PHONE)
    assert_fits(portal)
    portal.sign_in(user)
    portal.expect(portal.page.locator("#orders-table tbody tr")).to_have_count(1)
    portal.shot("history-and-orders")
    assert_fits(portal)
    for date in portal.page.locator("#history-table tbody td:first-child").all():
        assert portal.lines(date) == 1, date.inner_text()
    portal.page.context.close()

    portal = open_portal(browser, gateway, f"{request.node.name}-admin", viewport=PHONE)
    portal.sign_in(admin)
    admin_view = portal.page.locator("#admin")
    admin_view.get_by_label("Find an account by email or user id").fill(user.email)
    admin_view.get_by_role("button", name="Find").click()
    portal.expect(portal.page.locator("#admin-email")).to_have_text(user.email)
    portal.expect(portal.page.locator("#admin-ledger tbody tr")).to_have_count(3)
    portal.shot("account-found")
    assert_fits(portal)
    portal.page.context.close()


def test_a_user_saves_billing_details_and_downloads_the_tax_invoice(
    portal: Portal, user: User
) -> None:
    portal.sign_in(user)
    invoices = portal.page.locator("#invoices-table tbody tr")
    portal.expect(invoices).to_have_text(["No invoices yet."])
    form = portal.page.locator("#billing-form")
    form.get_by_label("Legal name").fill("Pune Analytics LLP")
    form.get_by_label("Address").fill("4 FC Road, Pune 411004")
    form.get_by_label("GSTIN (if registered)").fill("27AAPFU0939F1ZW")  # one character off
    form.get_by_role("button", name="Save billing details").click()
    portal.expect(portal.page.locator("#billing-error")).to_contain_text("gstin: the check")
    portal.expect(form.get_by_label("GSTIN (if registered)")).to_have_attribute(
        "aria-invalid", "true"
    )
    form.get_by_label("GSTIN (if registered)").fill("27AAPFU0939F1ZV")
    form.get_by_role("button", name="Save billing details").click()
    portal.expect(portal.page.locator("#billing-result")).to_contain_text("Billing details saved")
    portal.expect(form.get_by_label("State (India)")).to_have_value("27")  # from the GSTIN

    portal.choose_package("Basic", "Razorpay (UPI, cards, netbanking)")
    portal.continue_to_payment()
    portal.checkout().get_by_role("button", name="Success").click()
    portal.expect(portal.result()).to_have_text("Payment received: 550.00 credits added.")

    portal.expect(invoices).to_have_count(1)
    portal.expect(invoices.first).to_contain_text("Invoice")
    portal.expect(invoices.first).to_contain_text(re.compile(r"INV/\d{4}-\d{2}/\d{6}"))
    portal.expect(invoices.first).to_contain_text("₹90.00")  # IGST: Maharashtra from Karnataka
    portal.expect(invoices.first).to_contain_text("₹590.00")
    portal.page.locator("#invoices").scroll_into_view_if_needed()
    portal.shot("invoices")
    with portal.page.expect_download() as downloading:
        invoices.first.get_by_role("button", name=re.compile("^Download INV")).click()
    download = downloading.value
    assert download.suggested_filename.startswith("INV-")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
