"""Browser tests: one `streamlit run app.py` per session, driven in Debian's chromium by Playwright.

Without /usr/bin/chromium the browser tests skip, saying how to install it; under CI (environment
variable CI set) they fail instead, since CI installs chromium (scripts/system-deps.sh).
Screenshots go to test-artifacts/ (gitignored).
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from benchmarks import browser
from tests import installed

ARTIFACTS = browser.ROOT / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def chromium():
    """Debian's chromium, launched once for the browser tests; Playwright's event loop ends with
    them (the protocol clients of later tests run their own asyncio loops)."""
    installed.need(browser.CHROMIUM.exists(), "chromium", str(browser.CHROMIUM))
    with sync_playwright() as playwright:
        launched = browser.launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def runs_dir(tmp_path_factory) -> Path:
    """The server's runs folder (CNNVIZ_RUNS_DIR), empty at the start of the browser tests."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="package")
def app_url(chromium, runs_dir) -> str:
    """URL of the app served for the browser tests (started after chromium, so skipped with it);
    its training runs one at a time (CNNVIZ_MAX_RUNS 1), so a second one waits in the queue."""
    env = {"CNNVIZ_RUNS_DIR": str(runs_dir), "CNNVIZ_MAX_RUNS": "1"}
    with browser.streamlit_server(env) as url:
        yield url


@pytest.fixture
def page(chromium) -> Page:
    """A page in a fresh browser context: a new Streamlit session per test."""
    page = browser.new_page(chromium)
    yield page
    page.context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, name) keeps a picture of the whole page as test-artifacts/<name>.png."""
    def save(page: Page, name: str) -> None:
        browser.save_screenshot(page, ARTIFACTS / f"{name}.png")
    return save
