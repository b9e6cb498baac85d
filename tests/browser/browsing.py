"""For the browser tests: Chromium, driven by Playwright, against a real `helpdesk serve`.

The people and the catalogue are made through the core services on the suite's database (the
test's SQLite file, or the PostgreSQL server HELPDESK_DATABASE names) before the server starts
on that same database; then each person gets a browser context of their own (own cookies).

Chromium is Debian's package (`.ci/run` installs it); Playwright's own browser download is not
used. Without it the browser tests are skipped, with the reason, except under CI (CI=true),
where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import PASSWORD

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # said by missing_browser(); the tests then skip (or fail under CI)
    expect = sync_playwright = None

CHROMIUM = (
    os.environ.get("HELPDESK_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
# The flags that work in a headless Debian machine or container, and keep the browser from
# talking to anything but the server under test.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAUNCH_MS = 30_000
STEP_MS = 10_000  # any one click, fill, navigation or expectation
VIEWPORT = {"width": 1280, "height": 800}
ROOT = Path(__file__).resolve().parents[2]
# HELPDESK_SCREENSHOTS=docs/screenshots refreshes the README's screenshots; by default they go
# to the test's temporary directory, so that a test run leaves the checkout as it was.
SCREENSHOTS = os.environ.get("HELPDESK_SCREENSHOTS")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@contextmanager
def launched_chromium():
    """The system's Chromium, headless, with a fresh profile; closed after."""
    missing = missing_browser()
    if missing:
        if in_ci():
            pytest.fail(f"browser tests must run in CI, but {missing}")
        pytest.skip(f"browser tests skipped: {missing}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, timeout=LAUNCH_MS
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    directory = ROOT / SCREENSHOTS if SCREENSHOTS else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Site:
    """The running server and the people using it, each in their own browser context.

    Every page opened records what the browser complains about in `problems`: console errors
    (among them what the Content-Security-Policy refused), uncaught script errors, and anything
    a page loads (style sheets, scripts, icons) that fails.
    """

    def __init__(self, url: str, chromium, screenshots: Path):
        self.url = url
        self.chromium = chromium
        self.screenshots = screenshots
        self.contexts: list = []
        self.problems: list[str] = []

    def open(self, *, locale: str = "en-GB"):
        """A new browser (own cookies) on the home page, signed out."""
        context = self.chromium.new_context(base_url=self.url, locale=locale, viewport=VIEWPORT)
        context.set_default_timeout(STEP_MS)
        context.set_default_navigation_timeout(STEP_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        page.goto("/")
        return page

    def _console(self, page, message) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        # A page may answer 404 on purpose; what it loads (styles, scripts, icons) may not.
        if message.text.startswith("Failed to load resource") and source == page.url:
            return
        self.problems.append(f"{page.url}: {message.text} ({source})")

    def sign_in(self, user, *, locale: str = "en-GB", password: str = PASSWORD):
        """A new browser in which `user` signed in through the login form."""
        page = self.open(locale=locale)
        fill_login(page, user.email, password)
        page.wait_for_url(self.url + "/")
        return page

    def screenshot(self, page, name: str) -> Path:
        """The whole page as <name>.png (see SCREENSHOTS)."""
        path = self.screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def fill_login(page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
