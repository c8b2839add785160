"""The docs and the landing page in a real browser (headless Chromium driven by Playwright)
that may reach nothing but this machine: every request to another host is blocked.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it). Where it cannot
be had the tests are skipped, saying so. Screenshots go to ``tests/.artifacts/`` (not in git).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from kerops.assets import qr
from kerops.config import Settings
from kerops.main import create_app
from tests.fixtures import files
from tests.fixtures.factories import PASSWORD, register_owner
from tests.fixtures.live_server import free_port, serve

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

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
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


@pytest.fixture
def scan_live(settings: Settings) -> Iterator[str]:
    """The app served where its ``KEROPS_PUBLIC_URL`` says, so its QR codes and follow-up
    links lead back to it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"public_url": base_url}))
    with serve(app, port=port) as url:
        yield url


def _asset_on_site(live: str) -> tuple[dict[str, Any], bytes]:
    """A client's asset in a locale's area, created through the API, and its QR code (PNG)."""
    with httpx2.Client(base_url=live, timeout=10, trust_env=False) as http:
        owner = register_owner(http)  # type: ignore[arg-type]
        headers = owner.headers
        locale = http.post("/api/v1/locales", json={"name": "Acme Providencia"}, headers=headers)
        assert locale.status_code == 201, locale.text
        locale_id = locale.json()["id"]
        area = http.post(
            f"/api/v1/locales/{locale_id}/areas", json={"name": "Sala de máquinas"}, headers=headers
        )
        assert area.status_code == 201, area.text
        asset = http.post(
            "/api/v1/assets",
            json={"name": "Chiller 2", "locale_id": locale_id, "area_id": area.json()["id"]},
            headers=headers,
        )
        assert asset.status_code == 201, asset.text
        qr_png = http.get(
            f"/api/v1/assets/{asset.json()['id']}/qr", params={"format": "png"}, headers=headers
        )
        assert qr_png.status_code == 200
        result: dict[str, Any] = asset.json()
        return result, qr_png.content


def _fits_a_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width  # no sideways scrolling
    for selector in ("textarea", "input[type=text]", "button[type=submit]", ".lang-switch a"):
        controls = page.locator(selector)
        for i in range(controls.count()):
            box = controls.nth(i).bounding_box()
            assert box is not None and box["height"] >= 44, (selector, box)  # a finger hits it
            size = controls.nth(i).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 16, (selector, size)  # no zoom on focus, readable


@pytest.mark.parametrize("browser", [(360, 740)], indirect=True)
def test_a_phone_scans_a_qr_code_reports_a_fault_with_a_photo_and_follows_it(
    scan_live: str, browser: Browser, tmp_path: Path
) -> None:
    asset, qr_png = _asset_on_site(scan_live)
    url = qr.scan_url(scan_live, asset["qr_code"])  # what the QR code encodes
    assert qr_png == qr.render(url, qr.QRFormat.png)
    page = browser.page

    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "es-CL"
    assert page.locator("h1").inner_text() == "Chiller 2"
    facts = page.locator(".facts").inner_text()
    assert "Acme Providencia" in facts and "Sala de máquinas" in facts
    assert page.locator("#photo").get_attribute("accept") == "image/*"
    assert page.locator("#photo").get_attribute("capture") == "environment"
    _fits_a_phone(page)
    browser.shot("scan-360-es", full_page=True)

    page.click("text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h2#report-title").inner_text() == "Report a fault"
    _fits_a_phone(page)
    browser.shot("scan-360-en", full_page=True)

    # Sent without a description: the form again, in English, with what was typed kept.
    page.fill("#reporter_name", "Ana Torres")
    page.fill("#reporter_contact", "+56 9 1234 5678")
    page.click("button[type=submit]")
    assert page.locator("#description-error").inner_text() == "Describe the fault."
    assert page.locator("#reporter_name").input_value() == "Ana Torres"
    browser.shot("scan-360-error", full_page=True)

    photo = tmp_path / "falla.png"
    photo.write_bytes(files.png(32, 24))
    page.fill("#description", "Water drips from the condenser.")
    page.set_input_files("#photo", str(photo))
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Report received"
    number = page.locator(".ticket-number strong").inner_text()
    assert re.fullmatch(r"T-\d{6}", number), number
    link = page.locator(".follow-link a")
    assert link.get_attribute("href", timeout=5_000).startswith(f"{scan_live}/follow-up/")
    assert page.locator(".status").inner_text() == "Received"
    _fits_a_phone(page)
    browser.shot("scan-360-sent", full_page=True)

    page.goto(link.get_attribute("href") or "")  # the private link, opened later
    assert page.locator("h1").inner_text() == f"Ticket {number}"
    assert page.locator(".status").inner_text() == "Received"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page.locator("dd time").inner_text())
    _fits_a_phone(page)
    browser.shot("follow-up-360-en", full_page=True)
    page.click("text=Español")
    assert page.locator(".status").inner_text() == "Recibida"
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}", page.locator("dd time").inner_text())
    browser.shot("follow-up-360-es", full_page=True)
    assert browser.blocked == [], browser.blocked
    # The refused form is answered 422 (Chromium logs every 4xx document): nothing else.
    refused = "Failed to load resource: the server responded with a status of 422"
    assert [e for e in browser.errors if not e.startswith(refused)] == [], browser.errors
