"""Every page in chromium: it renders without a traceback, its main controls redraw its charts."""

import ast
import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from benchmarks import browser

CHARTS = {"Backpropagation": ("dZ", "dA_prev", "dW", "pool_grads"),
          "Homework: 2-3-1 network": ("dense_network", "dense_loss")}  # charts drawn on first visit
TABLES = {"Convolution": ("step",)}  # HTML tables (st.html) drawn on first visit
HEADINGS = {"Home": "cnnviz"}  # a page's h1 when it is not the menu title
SCRUBBED = ("Convolution", "Pooling")  # input and maps drawn by the scrub component


def menu_titles() -> list[str]:
    """Titles of the pages app.py lists whose files exist, in menu order."""
    tree = ast.parse((browser.ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES")
    return [title for path, title, _ in pages if (browser.ROOT / path).exists()]


def assert_healthy(page: Page) -> None:
    """No traceback and no error box on the page."""
    assert browser.exceptions(page) == []
    assert browser.errors(page) == []


def test_menu_pages_each_render_their_charts(page, app_url, screenshot):
    requested = []  # no CDN: a classroom may have no internet, and a page must not leak its views
    page.on("request", lambda request: requested.append(request.url))
    browser.open_page(page, app_url)
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    # the title follows the icon
    assert [text.splitlines()[-1] for text in links.all_inner_texts()] == menu_titles()
    for title in menu_titles():
        browser.follow_menu(page, title)
        heading = page.get_by_role("heading", name=HEADINGS.get(title, title), level=1)
        expect(heading).to_be_visible()
        for key in CHARTS.get(title, ()):
            expect(page.locator(f".st-key-{key} .main-svg").first).to_be_visible()
        for key in TABLES.get(title, ()):
            expect(page.locator(f".st-key-{key} table td").first).to_be_visible()
        if title in SCRUBBED:
            maps = page.locator(f"{browser.SCRUB}[data-drawn] .maps .main-svg").first
            expect(maps).to_be_visible()
        assert_healthy(page)
        screenshot(page, f"page-{title.lower().replace(' ', '-')}")
    server = urlsplit(app_url).netloc
    assert len(requested) > len(menu_titles())
    elsewhere = [url for url in requested if urlsplit(url).scheme not in ("data", "blob")
                 and urlsplit(url).netloc != server]
    assert elsewhere == []


def scrub_cells(page: Page) -> int:
    """Cells of the maps the scrub component draws (the maps side by side, with gaps)."""
    rows, columns = page.evaluate(f"() => document.querySelector('{browser.SCRUB} .maps')"
                                  ".dataset.cells.split(' ').map(Number)")  # painted (paint.js)
    return rows * columns


def settled(page: Page, text: str) -> None:
    """Wait until the component's settle reached the server: the page below it shows `text`."""
    expect(page.get_by_text(text).first).to_be_visible()
    browser.wait_for_app(page)


def test_convolution_controls_redraw_output(page, app_url):
    browser.open_page(page, f"{app_url}/convolution")
    kernel_size = browser.widget(page, "stSlider", "Kernel size").get_by_role("slider")
    cells = page.locator(f"{browser.SCRUB} .kernel input")
    changes = [  # the component's controls redraw at once; the sidebar's and the image's rerun
        ("preset", lambda: browser.scrub_select(page, "Preset", "Gaussian blur")),
        ("stride", lambda: browser.scrub_slide(page, "stride sh")),
        ("padding", lambda: browser.scrub_select(page, "Padding", "same")),
        ("activation", lambda: browser.scrub_select(page, "Activation", "tanh")),
        ("bias", lambda: browser.scrub_slide(page, "bias b", 3)),
        ("kernel size", lambda: kernel_size.press("ArrowRight")),
        ("digit", lambda: browser.set_number(page, "Index within the class (0 to 800)", 1)),
    ]
    for control, change in changes:
        try:
            browser.scrubbed(page, change)
        except AssertionError as error:
            raise AssertionError(f"after changing the {control}: {error}") from None
        browser.wait_for_app(page)
        assert_healthy(page)
    expect(cells).to_have_count(16)  # a 4x4 kernel of Gaussian blur
    assert scrub_cells(page) == 14 * 28  # same padding, stride 2 x 1
    settled(page, "a = tanh(z)")
    assert re.search(r"stride_h=2\b", page.url) and "padding=same" in page.url  # shareable link
    assert "bias=0.3" in page.url and "preset_0=Gaussian+blur" in page.url
    formula = page.locator(".st-key-size_formula").inner_text()
    assert "/ 2⌋" in formula, formula  # the output-size formula follows the stride


def test_convolution_link_opens_its_view(page, app_url):
    browser.open_page(page, f"{app_url}/convolution?padding=explicit&pad_h=2&pad_w=0&stride_w=2"
                            "&preset_0=sharpen")
    page.locator(f"{browser.SCRUB}[data-drawn]").wait_for()
    assert scrub_cells(page) == 30 * 13  # (28 + 4 - 3) / 1 + 1 by (28 - 3) // 2 + 1
    assert page.locator(browser.SCRUB).get_by_label("Preset").input_value() == "sharpen"
    assert page.locator(browser.SCRUB).get_by_label("Padding").input_value() == "explicit"
    assert_healthy(page)


CELL_JS = """([row, column]) => {  // the page coordinates of a cell's centre in the maps
    const plot = document.querySelector('.cnnviz-scrub .maps'), layout = plot._fullLayout;
    const box = plot.getBoundingClientRect();
    return [box.left + layout._size.l + layout.xaxis.d2p(column),
            box.top + layout._size.t + layout.yaxis.d2p(row)];
}"""


def test_convolution_click_on_an_output_cell_steps_there(page, app_url):
    browser.open_page(page, f"{app_url}/convolution")
    page.locator(f"{browser.SCRUB} .maps").scroll_into_view_if_needed()
    x, y = page.evaluate(CELL_JS, [3, 5])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(page.locator(browser.SCRUB).get_by_label("row i")).to_have_value("3")
    settled(page, "Output (3, 5) of filter 1")
    assert_healthy(page)


def test_pooling_controls_redraw_output(page, app_url):
    browser.open_page(page, f"{app_url}/pooling")
    browser.scrubbed(page, lambda: browser.scrub_select(page, "Mode", "avg"))
    browser.scrubbed(page, lambda: browser.scrub_slide(page, "window kh"))
    assert scrub_cells(page) == 13 * 14  # (28 - 3) // 2 + 1 by (28 - 2) // 2 + 1
    settled(page, "mean of the 3x2 window")
    assert_healthy(page)
    assert "pool_mode=avg" in page.url and "pool_kh=3" in page.url


def test_backprop_gradient_choices_redraw_gradients(page, app_url):
    browser.open_page(page, f"{app_url}/backprop")
    for kind in ("random", "impulse", "target kernel"):
        browser.changed_chart(
            page, "dA_prev",
            lambda kind=kind: browser.choose_radio(page, "Upstream gradient dZ", kind))
        browser.wait_for_app(page)
    browser.changed_chart(page, "pool_grads",
                          lambda: browser.choose_radio(page, "Upstream gradient dA", "random"))
    browser.wait_for_app(page)
    page.get_by_role("button", name="Run gradient descent").click()
    browser.wait_for_app(page)
    expect(page.locator(".st-key-loss_60 .main-svg").first).to_be_visible()
    assert_healthy(page)


def test_draw_canvas_stroke_is_read_as_a_one(page, app_url, screenshot):
    browser.open_page(page, f"{app_url}/draw")
    browser.draw_stroke(page)
    reading = page.get_by_role("heading", name=re.compile("The network reads"))
    expect(reading).to_be_visible()
    browser.wait_for_app(page)
    assert re.match(r"The network reads: 1 \(\d+%\)", reading.inner_text())
    expect(page.locator(".st-key-draw_probs .main-svg").first).to_be_visible()
    assert_healthy(page)
    screenshot(page, "draw-a-one")


def test_convolution_window_walk_plays_and_pause_settles(page, app_url):
    """Play moves the window across the image in the browser; Pause sends where it stopped."""
    browser.open_page(page, f"{app_url}/convolution")
    scrub = page.locator(browser.SCRUB)
    before = browser.scrub_draws(page)
    scrub.get_by_role("button", name="Play").click()
    page.wait_for_function(f"() => ({browser.DRAWS_JS})() > {before} + 5")  # frames drawn
    scrub.get_by_role("button", name="Pause").click()
    i, j = (scrub.get_by_label(name).input_value() for name in ("row i", "column j"))
    settled(page, f"Output ({i}, {j}) of filter 1")
    assert_healthy(page)
