"""Playwright in Debian's Chromium against pytest-django's live_server (a pytest plugin, so any
test directory can use ``browser`` and ``page``; one Playwright instance per session).

Each page collects console errors and CSP violations; ``assert_clean()`` fails the test on any.
Screenshots go to $AIRPORTAL_TEST_ARTIFACTS (default: test-artifacts/).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("AIRPORTAL_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class WatchedPage:
    """A page that remembers console errors, page errors and CSP violations."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _on_console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def goto(self, path):
        response = self.page.goto(self.base_url + path)
        return response

    def sign_in(self, username, password="correct-horse-battery"):
        self.goto("/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state("networkidle")

    def screenshot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def csp_violations(self) -> list:
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self):
        problems = self.problems + [f"CSP violation: {v}" for v in self.csp_violations()]
        assert not problems, "\n".join(problems)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    # Record CSP violations before any page script runs (an init script, not an inline one).
    context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e => "
        "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    watched = WatchedPage(context.new_page(), live_server.url)
    yield watched
    context.close()
