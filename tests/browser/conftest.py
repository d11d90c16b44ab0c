"""Browser tests: Playwright's sync API driving Debian's Chromium (no browser download) against
the suite's live gateway (`gateway_server`, serving the session `app`).

Fixtures: `browser` (one headless Chromium per session), `page` (a desktop page, its base URL
the gateway's), `mobile_page` (390x844, touch: pages customers use on phones), `screenshot`
(a full-page PNG under tests/browser/artifacts/). Without Chromium or Playwright every browser
test is skipped with the reason, and the terminal summary says so; with APG_REQUIRE_BROWSER=1
(CI) their absence fails the tests instead.

Playwright's sync API runs its event loop on this thread in greenlets of its own: Flask's
context (pytest-flask pushes one per test) stays in the test's greenlet, and the gateway answers
from its own server threads, so a test reads the database only in `with app.app_context():`
blocks that end their transaction (an open read would hold SQLite's lock against the server).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask

from tests.support.servers import LiveServer

ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
# Why the browser tests could not run this session (None: they could, or none was asked for).
NOT_RUN: list[str] = []


def browser_missing() -> str | None:
    """Why no browser can be driven here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright not installed — make install"
    if shutil.which("chromium") is None:
        return "chromium not found — apt-get install chromium"
    return None


def required() -> bool:
    """CI sets APG_REQUIRE_BROWSER=1: a missing browser is then an error, not a skip."""
    return os.environ.get("APG_REQUIRE_BROWSER") == "1"


def _cannot_run(why: str) -> NoReturn:
    if not NOT_RUN:
        NOT_RUN.append(why)
    if required():
        pytest.fail(f"Browser tests cannot run: {why} (APG_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"Browser tests skipped: {why}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if NOT_RUN:
        said = "could not run (APG_REQUIRE_BROWSER=1)" if required() else "were skipped"
        terminalreporter.write_line(f"Browser tests {said}: {NOT_RUN[0]}", yellow=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's: Playwright's download is not used)."""
    missing = browser_missing()
    if missing:
        _cannot_run(missing)
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox"], headless=True
        )
    except Error as exc:
        playwright.stop()
        _cannot_run(f"chromium did not start — {exc.message[:200]}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any, app: Flask, gateway_server: LiveServer) -> Iterator[Any]:
    """A desktop page on the live gateway (relative URLs: page.goto("/ops/"))."""
    yield from _page(browser, gateway_server.url, viewport=DESKTOP)


@pytest.fixture
def mobile_page(browser: Any, app: Flask, gateway_server: LiveServer) -> Iterator[Any]:
    """A phone-sized page (390x844, touch) on the live gateway."""
    yield from _page(
        browser,
        gateway_server.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """screenshot(page, name): the whole page as tests/browser/artifacts/<name>.png."""

    def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies). A page that broke its Content Security
    Policy (an inline script or style, a foreign asset) fails the test that opened it."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    context.close()
    if violations:
        pytest.fail(f"the page broke its CSP: {violations[0]}", pytrace=False)
