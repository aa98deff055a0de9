"""Playwright (sync API) driving Debian's Chromium, one browser for the whole package.

The browser is ``$AWDA_CHROMIUM``, else ``chromium`` on the PATH, else /usr/bin/chromium
(``scripts/bootstrap --dev`` installs it with apt). Without it the tests are skipped, or
fail under ``CI=true``. Every test here is marked ``browser``: it runs in the SQLite run of
scripts/test only (tests/conftest.py deselects it on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser import helpers
from tests.notifications.conftest import smtp  # noqa: F401 (a real SMTP server for the journeys)

HERE = Path(__file__).resolve().parent

NewPage = Callable[..., Page]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: mark before tests/conftest.py deselects by marker.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def chromium_executable() -> Path | None:
    configured = os.environ.get("AWDA_CHROMIUM")
    candidate = Path(configured or shutil.which("chromium") or "/usr/bin/chromium")
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


@pytest.fixture(scope="package")
def _orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API keeps an asyncio loop running in this thread while it is started,
    # so Django would refuse every ORM call from the test thread (SynchronousOnlyOperation):
    # fixtures, factories, pytest-django's flush. The calls are plain synchronous ones made
    # between Playwright calls, never from the loop, so the check is a false alarm here.
    # Package scope: the check is back on for the tests that run after this package.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(_orm_beside_playwright: None) -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        wanted = os.environ.get("AWDA_CHROMIUM") or "chromium (PATH or /usr/bin/chromium)"
        message = (
            f"no Chromium for the browser tests: {wanted} not found; run scripts/bootstrap "
            "--dev (installs Debian's chromium) or set AWDA_CHROMIUM"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        # Playwright passes --no-sandbox by default (chromium_sandbox=False): Chromium's
        # sandbox refuses to start as root, as in CI containers.
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[NewPage]:
    """``new_page("ar")`` → a page in a fresh context with that locale (navigator.language
    and Accept-Language) on a phone-sized viewport; ``new_page("en", desktop=True)`` for a
    desktop one. Screenshots and axe results go to the test's artifact directory."""
    artifacts = helpers.TestArtifacts.for_test(request.node)
    contexts: list[BrowserContext] = []

    def open_page(locale: str = "ar", *, desktop: bool = False, **options: Any) -> Page:
        settings: dict[str, Any] = {
            "locale": locale,
            "viewport": helpers.DESKTOP if desktop else helpers.MOBILE,
            "is_mobile": not desktop,
            "has_touch": not desktop,
            "reduced_motion": "reduce",
        }
        settings.update(options)
        context = browser.new_context(**settings)
        # An upper bound on each wait, so a missing element fails in seconds, not 30.
        context.set_default_timeout(10_000)
        contexts.append(context)
        helpers.register(context, artifacts)
        return context.new_page()

    yield open_page
    for context in contexts:
        helpers.unregister(context)
        context.close()
