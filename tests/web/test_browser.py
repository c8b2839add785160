"""The docs and the landing page in a real browser (headless Chromium driven by Playwright)
that may reach nothing but this machine: every request to another host is blocked.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it). Where it cannot
be had the tests are skipped, saying so. Screenshots go to ``tests/.artifacts/`` (not in git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from kerops.config import Settings
from kerops.main import create_app
from tests.fixtures.factories import PASSWORD, register_owner
from tests.fixtures.live_server import serve

ARTIFACTS = Path(__file__).resolve().parent.parent / ".artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _chromium() -> str | None:
    for name in (os.environ.get("KEROPS_TEST_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium, or KEROPS_TEST_CHROMIUM)",
)


class Browser:
    """A page of a headless Chromium that blocks every request leaving this machine, and
    records what it blocked and every console error (content security policy reports too)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.blocked: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.route("**/*", self._route)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as base_url:
        yield base_url


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    width, height = getattr(request, "param", (1280, 900))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            context = chromium.new_context(
                viewport={"width": width, "height": height}, locale="es-CL"
            )
            yield Browser(context.new_page())
        finally:
            chromium.close()


def test_swagger_ui_signs_in_and_executes_a_call_offline(live: str, browser: Browser) -> None:
    with httpx2.Client(base_url=live, timeout=10, trust_env=False) as http:
        owner = register_owner(http)  # type: ignore[arg-type]
    page = browser.page
    page.goto(f"{live}/docs")
    page.wait_for_selector("#operations-auth-getCurrentUser", timeout=30_000)
    browser.shot("docs-loaded")

    page.click("button.authorize")
    oauth = page.locator(".auth-container").first  # OAuth2PasswordBearer: email and password
    oauth.locator("#oauth_username").fill(owner.email)
    oauth.locator("#oauth_password").fill(PASSWORD)
    oauth.locator(".auth-btn-wrapper button.authorize").click()
    oauth.locator(".auth-btn-wrapper button", has_text="Logout").wait_for(timeout=15_000)
    browser.shot("docs-authorized")
    oauth.locator(".auth-btn-wrapper button", has_text="Close").click()

    operation = page.locator("#operations-auth-getCurrentUser")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=15_000)
    assert status.inner_text().strip() == "200"
    body = operation.locator(".live-responses-table .response-col_description pre").first
    assert owner.email in body.inner_text()
    operation.scroll_into_view_if_needed()
    browser.shot("docs-executed")
    assert browser.blocked == [], browser.blocked
    assert browser.errors == [], browser.errors


def test_redoc_renders_offline(live: str, browser: Browser) -> None:
    page = browser.page
    page.goto(f"{live}/redoc")
    page.wait_for_selector(".api-content h1", timeout=60_000)
    browser.shot("redoc")
    assert "KER Ops API" in page.locator(".api-content h1").first.inner_text()
    # The operations are there under their ids (ReDoc's anchors).
    tickets = page.locator('[id="tag/tickets/operation/listTickets"]')
    tickets.wait_for(state="attached", timeout=30_000)
    assert browser.blocked == [], browser.blocked
    assert browser.errors == [], browser.errors


@pytest.mark.parametrize("browser", [(360, 740)], indirect=True)
def test_the_landing_page_fits_a_phone(live: str, browser: Browser) -> None:
    page = browser.page
    page.goto(f"{live}/")
    assert page.locator("html").get_attribute("lang") == "es-CL"
    assert page.locator("h1").inner_text() == "KER Ops"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width  # nothing wider than the screen: no sideways scrolling
    links = page.locator("ul.links a")
    assert links.count() == 4
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["height"] >= 24  # a finger can hit it
    browser.shot("landing-360")
    page.click("text=Estado del servicio")
    assert '"status":"ok"' in page.content().replace(" ", "")
    assert browser.blocked == [], browser.blocked
    assert browser.errors == [], browser.errors
