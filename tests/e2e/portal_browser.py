"""The billing portal in Debian's Chromium, driven by Playwright as a person would use it.

Playwright drives the system Chromium (``make chromium`` installs it with apt); it never downloads
a browser. Each step of a scenario is saved as a screenshot under ``test-artifacts/portal/``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.stack import ROOT
from tests.conftest import User
from tests.prerequisites import prerequisite_missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, ViewportSize

ARTIFACTS = ROOT / "test-artifacts" / "portal"
PASSWORD = "correct-horse-9"  # what tests.conftest.sign_up gives every user
# Flags that let Debian's Chromium run headless in a container without a GPU or a network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
TIME_ZONE = "Asia/Kolkata"  # the portal's users are in India: dates are theirs, not UTC
STEP_TIMEOUT_MS = 30_000

# Text kept for screen readers only: the skip link (off-screen until focused) and anything inside
# a box clipped to a pixel (.visually-hidden, a table's header row on a phone).
FOR_SCREEN_READERS = """const forScreenReaders = (node) => {
  for (; node; node = node.parentElement) {
    if (node.classList.contains('skip-link')) return true;
    const box = node.getBoundingClientRect();
    const clips = ['hidden', 'clip'].includes(getComputedStyle(node).overflowX);
    if (clips && box.width <= 1 && box.height <= 1) return true;
  }
  return false;
};"""

# What a person sees, not what the DOM holds: an element counts when the browser draws it (a box
# of its own, no `display: none` or `visibility: hidden` on it or above it) somewhere on the page.
SEEN = (
    "(selector) => {"
    + FOR_SCREEN_READERS
    + """
  return [...document.querySelectorAll(selector)].filter((node) => {
    if (forScreenReaders(node)) return false;
    if (!node.checkVisibility({visibilityProperty: true, opacityProperty: true})) return false;
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }).map((node) => (node.innerText || node.getAttribute('aria-label') || node.id).trim());
}"""
)

# Every drawn element that reaches past the viewport's edges (a table column off-screen, even
# inside a scrolling region) or whose content runs out of its own box (a long e-mail into the box
# beside it).
OVERFLOWING = (
    "() => {"
    + FOR_SCREEN_READERS
    + """
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const node of document.querySelectorAll('body *')) {
    if (forScreenReaders(node)) continue;
    if (!node.checkVisibility({visibilityProperty: true})) continue;
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const name = `${node.tagName.toLowerCase()}${node.id ? '#' + node.id : ''} ` +
      `"${(node.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}"`;
    if (box.left < -0.5 || box.right > width + 0.5) {
      found.push(`${name} spans ${Math.round(box.left)}..${Math.round(box.right)} of ${width} px`);
    } else if (getComputedStyle(node).overflowX === 'visible' && node.clientWidth > 0 &&
               node.scrollWidth > node.clientWidth + 1) {
      found.push(`${name} holds ${node.scrollWidth} px in ${node.clientWidth} px`);
    }
  }
  return found;
}"""
)

# How many lines the text of an element takes on the screen.
LINES = """(node) => {
  const range = document.createRange();
  range.selectNodeContents(node);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


def chromium_path() -> str:
    """The system Chromium; else a skip (a failure under CI): `make test` installs it first."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        prerequisite_missing(
            "Chromium is not installed and `make chromium` could not install it "
            "(apt-get install chromium): the billing portal's browser tests need it"
        )
    return path


@dataclass
class Portal:
    """The portal page of one browser context, with the steps a person takes."""

    page: Page
    url: str
    shots: Path
    step: int = 0
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        """Save what the page shows now as the scenario's next step."""
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def open(self) -> None:
        self.page.goto(self.url)
        self.expect(self.page.locator("#sign-in")).to_be_visible()

    def sign_in(self, user: User) -> None:
        self.page.get_by_label("Email", exact=True).fill(user.email)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.wait_ready()
        self.shot("signed-in")

    def wait_ready(self) -> None:
        """Wait until every view has loaded the signed-in user's account."""
        self.page.wait_for_selector("body[data-ready=true]", timeout=STEP_TIMEOUT_MS)

    def figure(self, name: str) -> str:
        """A figure of the balance panel: "Balance", "Held" or "Available"."""
        return self.page.locator(f"#{name.lower()}").inner_text()

    def choose_package(self, name: str, provider: str) -> None:
        self.page.locator(".package", has_text=name).click()
        self.page.get_by_label(provider).check()

    def continue_to_payment(self) -> None:
        self.page.get_by_role("button", name="Continue to payment").click()

    def checkout(self) -> Locator:
        """Razorpay Checkout's dialog (the sandbox's stand-in for checkout.js)."""
        dialog = self.page.get_by_role("dialog", name=re.compile("Razorpay"))
        self.expect(dialog).to_be_visible()
        return dialog

    def fill_card(self, number: str) -> None:
        """Type a card into the Stripe Elements card form (localstripe's stand-in fields)."""
        form = self.page.locator("#card-element")
        self.expect(form.locator("input").first).to_be_visible()
        for placeholder, value in [
            ("number", number),
            ("exp_month", "12"),
            ("exp_year", "34"),
            ("cvc", "123"),
            ("postal_code", "560001"),
        ]:
            form.get_by_placeholder(placeholder, exact=True).fill(value)

    def seen(self, selector: str) -> list[str]:
        """The text of each element matching ``selector`` that the page shows now."""
        return list(self.page.evaluate(SEEN, selector))

    def overflowing(self) -> list[str]:
        """Each element drawn beyond the viewport's edges or running out of its own box."""
        return list(self.page.evaluate(OVERFLOWING))

    def lines(self, locator: Locator) -> int:
        """How many lines ``locator``'s text wraps to."""
        return int(locator.evaluate(LINES))

    def result(self) -> Locator:
        return self.page.locator("#buy-result")

    def expect(self, locator: Locator):  # playwright's assertion object
        from playwright.sync_api import expect

        return expect(locator)


def open_portal(
    browser: Browser, url: str, test_name: str, viewport: ViewportSize = DESKTOP
) -> Portal:
    """A new browser context (no session, no storage) on the portal, its errors recorded."""
    shots = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    context = browser.new_context(viewport=viewport, timezone_id=TIME_ZONE, locale="en-IN")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    portal = Portal(page, url, shots)
    page.on("pageerror", lambda error: portal.errors.append(str(error)))
    portal.open()
    return portal
