"""Every page in chromium: it renders without a traceback, its main controls redraw its charts."""

import ast
import re

from playwright.sync_api import Page, expect

from benchmarks import browser

CHARTS = {"Convolution": ("kernels", "input", "outputs", "step"),
          "Pooling": ("pool_input", "pool_outputs"),
          "Backpropagation": ("dZ", "dA_prev", "dW", "pool_grads"),
          "Homework: 2-3-1 network": ("dense_network", "dense_loss")}  # charts drawn on first visit
HEADINGS = {"Home": "cnnviz"}  # a page's h1 when it is not the menu title


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
        assert_healthy(page)
        screenshot(page, f"page-{title.lower().replace(' ', '-')}")


def test_convolution_controls_redraw_output(page, app_url):
    browser.open_page(page, f"{app_url}/convolution")
    kernel_size = browser.widget(page, "stSlider", "Kernel size").get_by_role("slider")
    changes = [
        ("preset", "kernels", lambda: browser.choose_select(page, "Preset", "Gaussian blur")),
        ("stride", "outputs", lambda: browser.set_number(page, "Stride sh", 2)),
        ("padding", "outputs", lambda: browser.choose_radio(page, "Padding", "same")),
        ("activation", "outputs", lambda: browser.choose_select(page, "Activation", "tanh")),
        ("kernel size", "kernels", lambda: kernel_size.press("ArrowRight")),
        ("digit", "input",
         lambda: browser.set_number(page, "Index within the class (0 to 800)", 1)),
    ]
    for control, chart, change in changes:
        try:
            browser.changed_chart(page, chart, change)
        except AssertionError as error:
            raise AssertionError(f"after changing the {control}: {error}") from None
        browser.wait_for_app(page)
        assert_healthy(page)
    assert re.search(r"stride_h=2\b", page.url) and "padding=same" in page.url  # shareable link
    formula = page.get_by_test_id("stCode").first.inner_text()
    assert "/ 2⌋" in formula, formula  # the output-size formula follows the stride


def test_convolution_click_on_an_output_cell_steps_there(page, app_url):
    browser.open_page(page, f"{app_url}/convolution")
    positions = page.get_by_test_id("stSliderThumbValue")
    before = positions.all_inner_texts()
    area = page.locator(".st-key-outputs .nsewdrag").first  # the plot area (click targets drawn
    area.scroll_into_view_if_needed()                        # once: found from the data)
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    expect(positions).not_to_have_text(before)
    browser.wait_for_app(page)
    assert_healthy(page)


def test_pooling_controls_redraw_output(page, app_url):
    browser.open_page(page, f"{app_url}/pooling")
    browser.changed_chart(page, "pool_outputs", lambda: browser.choose_radio(page, "Mode", "avg"))
    browser.wait_for_app(page)
    browser.changed_chart(page, "pool_outputs", lambda: browser.set_number(page, "Window kh", 3))
    browser.wait_for_app(page)
    assert_healthy(page)
    expect(page.get_by_text("mean of the 3x2 window")).to_be_visible()


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


def test_convolution_window_walk_plays_its_frames(page, app_url):
    """The walk's frames reach Plotly.js (they are sent as plain dicts, outside plotly.py's
    figure objects) and the play button moves the window."""
    browser.open_page(page, f"{app_url}/convolution")
    page.get_by_text("▶ Walk the window across the image").click()
    chart = page.locator(".st-key-sweep .js-plotly-plot")
    expect(chart.locator(".main-svg").first).to_be_visible()
    names = chart.evaluate("plot => plot._transitionData._frames.map(frame => frame.name)")
    assert len(names) == 13 * 13 and len(set(names)) == len(names)  # 26x26 outputs, every 2nd
    window = "plot => JSON.stringify(plot.layout.shapes.map(shape => [shape.x0, shape.y0]))"
    before = chart.evaluate(window)
    chart.locator(".updatemenu-button").first.click()  # ▶ play
    page.wait_for_function(f"([plot, before]) => ({window})(plot) !== before",
                           arg=[chart.element_handle(), before], timeout=browser.TIMEOUT_MS)
    assert_healthy(page)
