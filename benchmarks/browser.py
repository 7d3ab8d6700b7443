"""The app in a real browser: start `streamlit run app.py`, drive Debian's chromium with Playwright.

Shared by the browser tests (tests/e2e) and the browser benchmark (benchmarks/browser_latency.py).
The server (benchmarks/server.py) runs on a free local port, with the environment given (e.g.
CNNVIZ_RUNS_DIR); the browser is /usr/bin/chromium, never a downloaded one.
"""

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from benchmarks.server import ROOT, free_port, streamlit_server  # noqa: F401 (the tests' server)
from cnnviz.data.splits import VALIDATION_FRACTION

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000  # a first page load imports TensorFlow on 2 busy cores
RUN_START_TIMEOUT_MS = 180_000  # a first run waits for Ray to start, then a worker to import TF

_APP = "[data-testid='stApp']"
# A hash of the data of the Plotly chart with widget key `key` (null: not drawn yet).
SIGNATURE_JS = """(key) => {
    const plot = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!plot || !plot.data) return null;
    const text = JSON.stringify(plot.data);
    let hash = 0;
    for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return `${text.length}:${hash}`;
}"""
_CHARTS_DRAWN_JS = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .every(chart => chart.querySelector('.js-plotly-plot .main-svg'))
    && [...document.querySelectorAll('.cnnviz-scrub')].every(scrub => scrub.dataset.drawn)"""


# --- browser ------------------------------------------------------------------------------------

def launch_chromium(playwright) -> Browser:
    """Debian's chromium, headless; FileNotFoundError saying how to install it when missing."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: install it with `sudo apt-get install chromium`")
    expect.set_options(timeout=TIMEOUT_MS)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def new_page(browser: Browser) -> Page:
    """A page in a fresh browser context: its own cookies, hence its own Streamlit session."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


# --- waiting for Streamlit ---------------------------------------------------------------------

def wait_for_app(page: Page, *, settle_ms: int = 250) -> None:
    """Wait until the script run triggered by the last action has finished and every chart is drawn
    (the scrub component's too).

    settle_ms first gives the action's rerun request time to reach the server (Streamlit's own
    e2e tests wait the same way).
    """
    page.wait_for_timeout(settle_ms)
    page.locator(f"{_APP}[data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator(f"{_APP}[data-test-script-state='notRunning']").wait_for(state="attached")
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)
    page.wait_for_function(_CHARTS_DRAWN_JS)


def open_page(page: Page, url: str) -> None:
    """Load url (a new Streamlit session) and wait for it."""
    page.goto(url)
    wait_for_app(page)


def follow_menu(page: Page, title: str) -> None:
    """Click the sidebar menu entry `title` (same session) and wait for that page. The whole
    name must match: "Home" is also part of "Homework: 2-3-1 network"."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    wait_for_app(page)


def chart_signature(page: Page, key: str) -> str | None:
    """A hash of the data of the Plotly chart with widget key `key` (None: not drawn)."""
    return page.evaluate(SIGNATURE_JS, key)


def wait_for_chart_change(page: Page, key: str, before: str | None) -> None:
    """Wait (checking every animation frame) until chart `key` shows data other than `before`."""
    try:
        page.wait_for_function(
            f"([key, before]) => {{ const now = ({SIGNATURE_JS})(key); "
            "return now !== null && now !== before; }",
            arg=[key, before], polling="raf")
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"chart {key!r} was not redrawn with new data within {TIMEOUT_MS} ms") from None


def changed_chart(page: Page, key: str, action: Callable[[], object]) -> float:
    """Seconds from running `action` to chart `key` redrawn with new data."""
    before = chart_signature(page, key)
    start = time.perf_counter()
    action()
    wait_for_chart_change(page, key, before)
    return time.perf_counter() - start


# --- the scrub component (cnnviz/ui/scrub) -------------------------------------------------------

SCRUB = ".cnnviz-scrub"
DRAWS_JS = f"() => Number(document.querySelector('{SCRUB}')?.dataset.drawn || 0)"


def scrub_draws(page: Page) -> int:
    """How many times the page's scrub component has drawn its maps (0: not yet)."""
    return page.evaluate(DRAWS_JS)


def scrubbed(page: Page, action: Callable[[], object]) -> float:
    """Seconds from running `action` to the scrub component's next redraw."""
    before = scrub_draws(page)
    start = time.perf_counter()
    action()
    page.wait_for_function(f"(before) => ({DRAWS_JS})() > before", arg=before, polling="raf")
    return time.perf_counter() - start


def scrub_slide(page: Page, label: str, presses: int = 1, key: str = "ArrowRight") -> None:
    """Move the component's slider `label` by keyboard, `presses` steps, as a student can."""
    page.locator(SCRUB).get_by_label(label).focus()
    for _ in range(presses):
        page.keyboard.press(key)


def scrub_select(page: Page, label: str, option: str) -> None:
    """Pick `option` in the component's drop-down `label`."""
    page.locator(SCRUB).get_by_label(label).select_option(option)


def wait_for_link(page: Page, text: str) -> None:
    """Wait until the page's address holds `text` ("padding=same"): a settle reached the server."""
    page.wait_for_function("(text) => location.search.includes(text)", arg=text)
    wait_for_app(page)


# --- widgets -----------------------------------------------------------------------------------

def widget(scope: Page | Locator, test_id: str, label: str) -> Locator:
    """The widget of type test_id ("stRadio", "stSelectbox", ...) whose label is exactly `label`."""
    return scope.get_by_test_id(test_id).filter(
        has=scope.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))


def type_number(scope: Page | Locator, label: str, value) -> Locator:
    """Type value into number input `label` without committing it (press Enter to commit)."""
    field = widget(scope, "stNumberInput", label).locator("input")
    field.fill(str(value))
    return field


def set_number(scope: Page | Locator, label: str, value) -> None:
    type_number(scope, label, value).press("Enter")


def choose_radio(scope: Page | Locator, label: str, option: str) -> None:
    widget(scope, "stRadio", label).get_by_text(option, exact=True).click()


def choose_select(page: Page, label: str, option: str, scope: Page | Locator | None = None) -> None:
    """Open selectbox `label` and click `option` (reopening it when a rerun closed the list)."""
    box = widget(scope or page, "stSelectbox", label)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        box.click()
        try:
            choice.click(timeout=5000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError(f"selectbox {label!r} never offered {option!r}")


def draw_stroke(page: Page) -> None:
    """Draw a vertical stroke, 70% of the Draw page's canvas high, in small mouse moves (a "1")."""
    canvas = page.locator("canvas.upper-canvas").first  # the drawing layer of the Fabric.js canvas
    box = canvas.bounding_box()
    x, top = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
    page.mouse.move(x, top)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + step * 0.5, top + step * box["height"] * 0.035)
    page.mouse.up()


def errors(page: Page) -> list[str]:
    """Texts of the st.error boxes on the page."""
    return page.get_by_test_id("stAlertContentError").all_inner_texts()


def exceptions(page: Page) -> list[str]:
    """Texts of the tracebacks (st.exception boxes) on the page: there should be none."""
    return page.get_by_test_id("stException").all_inner_texts()


def save_screenshot(page: Page, path: Path) -> None:
    """The whole page (Streamlit scrolls inside its main element) as a PNG."""
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(height, 6000))})
    try:
        page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path)
    finally:
        page.set_viewport_size(VIEWPORT)


# --- training page -----------------------------------------------------------------------------

TRAINING_IMAGES = (f"Training images ({VALIDATION_FRACTION:.0%} of them held out for "
                   "validation)")  # the Training page's slider label


def prepare_training(page: Page, url: str, *, backend: str = "Keras", epochs: int = 20,
                     images: int | None = None) -> None:
    """Open the training page and set a run up: backend, epochs, and training images (default
    the page's 8,000; else `images`, from 200 in steps of 100)."""
    open_page(page, f"{url}/training")
    choose_radio(page, "Backend", backend)
    wait_for_app(page)
    set_number(page, "Epochs", epochs)
    wait_for_app(page)
    if images is not None:
        slider = widget(page, "stSlider", TRAINING_IMAGES).get_by_role("slider")
        slider.press("Home")
        for _ in range((images - 200) // 100):
            slider.press("ArrowRight")
        wait_for_app(page)


def start_training(page: Page, url: str, *, backend: str = "Keras", epochs: int = 20,
                   images: int | None = None) -> None:
    """prepare_training, then press Start and wait until the run can be stopped."""
    prepare_training(page, url, backend=backend, epochs=epochs, images=images)
    page.locator(".st-key-train_start button").click()
    expect(page.locator(".st-key-train_stop button")).to_be_enabled(timeout=TIMEOUT_MS)


_BATCHES_JS = """() => {
    const plot = document.querySelector('.st-key-live_batches .js-plotly-plot');
    const seen = plot && plot.data && plot.data.length ? plot.data[0].x : [];
    return seen.length ? seen[seen.length - 1] : 0;
}"""


def batches_seen(page: Page) -> int:
    """Batches seen: the last x of the live per-batch curve (0 before the first batch)."""
    return page.evaluate(_BATCHES_JS)


def wait_for_batches(page: Page, count: int) -> None:
    """Wait until the live curve has `count` batches; AssertionError with the page's error
    instead."""
    page.wait_for_function(f"(count) => ({_BATCHES_JS})() >= count || "
                           "document.querySelector(\"[data-testid='stAlertContentError']\")",
                           arg=count, timeout=RUN_START_TIMEOUT_MS)
    assert errors(page) == [], errors(page)


def stop_training(page: Page) -> None:
    page.locator(".st-key-train_stop button").click()
    expect(page.locator(".st-key-train_start button")).to_be_enabled(timeout=TIMEOUT_MS)
