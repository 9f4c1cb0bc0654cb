"""Browser tests: Playwright driving Debian's chromium (headless) against the real app.

`make test` installs chromium with apt-get; a missing browser fails these tests, never skips
them. A failing test leaves a screenshot in tests/browser/screenshots/.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

import store
from config import Settings
from sidecar.app import create_app
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "browser test password"
# As the machine's notes say: without these, chromium spends its start-up on the closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", item.nodeid)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def server(sandbox, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start the real app on a free loopback port against the sandbox; returns its URL."""
    servers = []

    def start(**settings: object) -> str:
        engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
        store.migrate(engine)
        values: dict[str, object] = {
            "lms": {"url": sandbox.url, "token": sandbox.admin_token},
            "sync": {"sources": [str(REPO / "examples/frameworks/leadership-feedback.yaml")]},
            "admin": {"password": PASSWORD, "session_key": "k" * 40, "secure_cookies": False},
        }
        values.update(settings)
        app = create_app(Settings(**values), engine)  # type: ignore[arg-type]
        http = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        servers.append(http)
        return f"http://127.0.0.1:{http.server_port}"

    yield start
    for http in servers:
        http.shutdown()


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/")
