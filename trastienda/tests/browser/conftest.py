"""Browser tests: Playwright for Python (sync API) driving Debian's headless Chromium
against pytest-django's live server.

Run them alone with::

    .venv/bin/python -m pytest -q -m browser trastienda/tests/browser

Chromium is Debian's package (``apt-get install chromium``), never a browser downloaded by
``playwright install``; ``TRASTIENDA_CHROMIUM`` names another executable. Without it the
tests *fail* and say how to install it: a CI job without a browser must not look green.

Screenshots go to ``TRASTIENDA_BROWSER_SCREENSHOTS`` (default: a pytest temporary
directory); a failing test leaves ``<test name>-failure.png`` there.

Playwright's sync API keeps an asyncio loop running in the main thread, and Django refuses
ORM calls while a loop runs (``SynchronousOnlyOperation``). While the browser is up (from the
first browser test of this package to its last) ``DJANGO_ALLOW_ASYNC_UNSAFE`` is therefore
set; it is restored afterwards, so the rest of the suite keeps Django's check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from trastienda.tests.browser.pages import LOGIN_PATH, submit_login

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1366, "height": 900}


def chromium_executable() -> str:
    """The Chromium to drive, or a test failure that says how to install it."""
    configured = os.environ.get("TRASTIENDA_CHROMIUM", "")
    candidates = (
        [configured]
        if configured
        else [
            shutil.which("chromium") or "",
            "/usr/bin/chromium",
            shutil.which("chromium-browser") or "",
        ]
    )
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "Chromium is not installed, so the browser tests cannot run. Install Debian's package: "
        "`apt-get update && apt-get install -y chromium` (or set TRASTIENDA_CHROMIUM to a "
        "Chromium executable). Do not use `playwright install`.",
        pytrace=False,
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """Keep each phase's report on the test item, so fixtures can see whether it failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test of this package."""
    executable = chromium_executable()
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("TRASTIENDA_BROWSER_SCREENSHOTS", "")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(
    browser: Any, live_server: Any, screenshot_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page on the live server, in English.

    Errors the page reports (JavaScript exceptions, Content-Security-Policy violations,
    styles, scripts, fonts or HTMX calls that fail to load) fail the test: they mean a broken
    page for a real user. Only ``/favicon.ico`` may be missing (the shell declares no icon).
    """
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        timezone_id="Europe/Madrid",
        viewport=VIEWPORT,
        accept_downloads=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text} ({page.url})")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    # Failed loads are reported here, with their address (the console message has none).
    page.on(
        "response",
        lambda r: (
            problems.append(f"HTTP {r.status} for {r.request.resource_type} {r.url}")
            if r.status >= 400 and _is_subresource(r.request) and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            target = screenshot_dir / f"{request.node.name}-failure.png"
            try:
                page.screenshot(path=str(target), full_page=True)
                print(f"screenshot of the failure: {target}")
            except Exception as exc:  # the page may be gone; the failure matters more
                print(f"no failure screenshot: {exc}")
        context.close()
    if report is not None and report.passed:
        assert not problems, "the pages reported errors:\n" + "\n".join(problems)


def _is_subresource(request: Any) -> bool:
    """Styles, scripts, fonts, images and HTMX calls; pages themselves may answer 4xx on purpose
    (a test checks those statuses itself)."""
    return request.resource_type != "document"


@pytest.fixture
def shoot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    """``shoot(page, "name")`` saves a full-page screenshot and returns its path."""

    def take(page: Any, name: str) -> Path:
        target = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return take


@pytest.fixture(autouse=True)
def _production_security(settings: Any) -> None:
    """The browser sees what production does: two-factor enforced (the test settings turn it
    off for the other apps' tests, which sign users in with ``force_login``)."""
    settings.TRASTIENDA_TWO_FACTOR_ENFORCED = True
    settings.TRASTIENDA_TRUSTED_PROXIES = []


# --- signing in -------------------------------------------------------------------------------


@pytest.fixture
def sign_in(page: Any) -> Callable[[str, str], Any]:
    """``sign_in(username, password)``: sign in through the form; asserts it left the form."""

    def do(username: str, password: str) -> Any:
        submit_login(page, username, password)
        page.wait_for_url(lambda url: urlsplit(url).path != LOGIN_PATH)
        return page

    return do


# --- data -------------------------------------------------------------------------------------


@pytest.fixture
def acme(make_company: Callable[..., Any]) -> Any:
    return make_company("ACME", legal_name="Acme Ibérica S.L.")


@pytest.fixture
def otra(make_company: Callable[..., Any]) -> Any:
    return make_company("OTRA", country="IT", legal_name="Altra Società S.r.l.")


@pytest.fixture
def marta(make_user: Callable[..., Any], acme: Any) -> Any:
    """An accountant of ACME (no two-factor required for that role)."""
    return make_user(
        "marta", company=acme, role="accountant", first_name="Marta", last_name="Gómez"
    )
