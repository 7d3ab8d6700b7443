"""The scrub component (cnnviz/ui/scrub): its settings checked in Python, mounted in a tiny
Streamlit script (AppTest), and driven in Debian's chromium (browser): a slider move redraws the
same plot in place, the settled settings reach Python, a bad kernel cell is refused.

The JavaScript's arithmetic against cnnviz.nn.ops is tests/test_scrub_js.py.
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.nn import kernels, ops
from cnnviz.ui.scrub import ASSETS, conv_settings, pool_settings
from cnnviz.ui.scrub.settings import BOUNDS, conv_padding
from tests import installed
from tests.plotly_colours import plotly_colours

APP = Path(__file__).parent / "apps" / "scrub_app.py"
IMAGE = np.add.outer(np.arange(12.0), np.arange(10.0)) % 7  # the tiny script's image
SOBEL = kernels.preset_kernel("Sobel left")
SCRUB_JS = ASSETS / "scrub.js"


def test_conv_settings_complete_the_defaults_and_centre_the_position():
    image, settings = conv_settings(IMAGE, [SOBEL, SOBEL], {"stride": [2, 1]})
    assert image.dtype == np.float32 and image.shape == (12, 10)
    assert settings["padding"] == "valid" and settings["activation"] == "none"
    assert settings["position"] == [2, 4, 0]  # output 5 x 8
    assert settings["presets"] == ["filter 1", "filter 2"]
    assert settings["kernels"][0] == SOBEL.tolist()
    json.dumps(settings)  # plain JSON: it travels to the browser and back


def test_conv_settings_move_a_position_outside_the_output_inside():
    _, settings = conv_settings(IMAGE, [SOBEL], {"position": [40, -3, 5], "padding": "same"})
    assert settings["position"] == [11, 0, 0]


@pytest.mark.parametrize(("change", "named"), [
    ({"padding": "full"}, "padding"),
    ({"stride": [0, 1]}, "stride"),
    ({"padding": "explicit", "pad": [1, 11]}, "pad"),
    ({"activation": "softmax"}, "activation"),
    ({"bias": float("nan")}, "bias"),
])
def test_conv_settings_refuse_a_bad_setting_by_name(change, named):
    with pytest.raises(ValueError, match=named):
        conv_settings(IMAGE, [SOBEL], change)


def test_conv_settings_refuse_a_bad_kernel_cell_and_a_kernel_too_large():
    with pytest.raises(ValueError, match="not a number"):
        conv_settings(IMAGE, [[[1, "x"], [0, 0]]], {})
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_settings(IMAGE[:2], [np.ones((3, 3))], {"padding": "valid"})
    _, settings = conv_settings(IMAGE[:2], [np.ones((3, 3))], {"padding": "explicit", "pad": 1})
    assert conv_padding(settings) == (1, 1)


def test_pool_settings_check_the_window_against_the_image():
    _, settings = pool_settings(IMAGE, {"mode": "avg", "window": [3, 3], "stride": [3, 3]})
    assert settings["position"] == [2, 1]  # output 4 x 3
    with pytest.raises(ValueError, match="window"):
        pool_settings(IMAGE, {"window": [8, 2]})
    with pytest.raises(ValueError, match="larger than the padded input"):
        pool_settings(IMAGE[:3], {"window": [4, 2]})
    with pytest.raises(ValueError, match="mode"):
        pool_settings(IMAGE, {"mode": "min"})


@pytest.mark.parametrize("kind", ["conv", "pool"])
def test_the_component_mounts_and_returns_the_settings(kind):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["kind"] = kind
    at.run()
    assert not at.exception
    returned = json.loads(at.code[0].value)
    if kind == "conv":
        presets = ["Sobel left", "Gaussian blur"]
        grids = [kernels.preset_kernel(name) for name in presets]
        expected = conv_settings(IMAGE, grids, {"presets": presets})[1]
    else:
        expected = pool_settings(IMAGE, {"mode": "max"})[1]
    assert returned == expected


def test_plotly_js_is_the_components_own_partial_bundle_with_heatmaps():
    # scrub.js loads the cartesian build beside it (a third of the full plotly.min.js), never a
    # CDN; its licence is shipped with it
    loaded = re.findall(r'new URL\("\./([^"]+)", import\.meta\.url\)', SCRUB_JS.read_text())
    assert loaded == ["vendor/plotly-cartesian.min.js"]
    bundle = ASSETS / loaded[0]
    head = bundle.read_text()[:200]
    assert "plotly.js (cartesian - minified) v" in head
    assert "heatmap" in bundle.read_text()
    assert bundle.stat().st_size < 2_000_000  # the full bundle is 4.8 MB
    assert "MIT License" in (bundle.parent / "LICENSE-plotly.js").read_text()


# --- in chromium --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scrub_url():
    """The tiny script served by `streamlit run` on a free port."""
    from benchmarks.server import _serving
    from cnnviz.serving.replicas import free_port

    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.fileWatcherType", "none"]
    root = str(Path(__file__).resolve().parents[1])
    with _serving(command, port, {"PYTHONPATH": root}, timeout=90, stop_seconds=15) as server:
        yield server.url


@pytest.fixture
def scrub_page(scrub_url):
    from playwright.sync_api import sync_playwright

    from benchmarks import browser

    installed.need(browser.CHROMIUM.exists(), "chromium", str(browser.CHROMIUM))
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        page = browser.new_page(chromium)
        yield page
        chromium.close()


# Columns of the maps' cells painted on the canvas (paint.js), the gaps between maps included.
PAINTED_COLUMNS_JS = ("() => Number(document.querySelector('.cnnviz-scrub .maps').dataset.cells"
                      ".split(' ')[1])")
SETTINGS_JS = "() => document.querySelector('[data-testid=stCode]').innerText"


def _wait_for_settings(page, text: str) -> None:
    page.wait_for_function(f"() => ({SETTINGS_JS})().includes({json.dumps(text)})")


@pytest.mark.browser
def test_a_slider_redraws_in_place_and_settles_to_python(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    page.evaluate("() => { document.querySelector('.cnnviz-scrub .maps').marked = true }")
    # the two maps side by side in one heatmap, a column of gaps between them
    widths = PAINTED_COLUMNS_JS
    assert page.evaluate(widths) == 8 + 1 + 8
    page.get_by_label("stride sw").focus()
    page.keyboard.press("ArrowRight")  # the keyboard moves it, as a student without a mouse
    page.wait_for_function(f"() => ({widths})() === 4 + 1 + 4")  # redrawn in the browser
    _wait_for_settings(page, '"stride": [1, 2]')  # and the settings reached Python
    assert page.evaluate("() => document.querySelector('.cnnviz-scrub .maps').marked")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    page.keyboard.press("ArrowRight")  # the rerun left the slider in place, still focused
    _wait_for_settings(page, '"stride": [1, 3]')
    plotly = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)"
                           ".filter((name) => name.toLowerCase().includes('plotly'))")
    assert [url.rsplit("/", 1)[1] for url in plotly] == ["plotly-cartesian.min.js"]  # once


# A second view of the component, driven as Streamlit drives it: its default export called with
# the data of each run. The stride slider's moves settle (change events), as keys and releases do.
MOUNT_JS = """async ([url, data]) => {
    const scrub = await import(url);  // the module the page loaded
    const parent = document.createElement("div");
    parent.innerHTML = '<div class="cnnviz-scrub"></div>';
    document.body.append(parent);
    const sent = [];
    const mount = (run) => scrub.default(
        {data: run, parentElement: parent, setStateValue: (_, value) => sent.push(value)});
    const stride = () => parent.querySelectorAll("input[type=range]")[2];  // after window kh, kw
    window.echo = {mount, stride, sent, parent, first: null};
    mount(data);
    window.echo.first = stride();
    for (const value of ["3", "4"]) {  // two quick moves: two settles
        window.echo.first.value = value;
        window.echo.first.dispatchEvent(new Event("input"));
        window.echo.first.dispatchEvent(new Event("change"));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));  // each sent after its frame
    return sent;
}"""
RUN_JS = """(data) => {  // a run's data arrives: what the stride slider and mode show after it
    window.echo.mount(data);
    const now = window.echo.stride();
    return [now.value, now === window.echo.first, window.echo.parent.querySelector("select").value];
}"""


@pytest.mark.browser
def test_the_echoes_of_older_settles_never_move_a_control_back(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=pool")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    url = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)"
                        ".find((name) => name.endsWith('/scrub.js'))")
    image, first = pool_settings(IMAGE, {"mode": "max"})

    def run(settings):  # the data of a run whose settings Python checked, as _mount sends it
        checked = pool_settings(image, settings)[1]
        return {"kind": "pool", "image": image.tolist(), "settings": checked, "bounds": BOUNDS}

    sent = page.evaluate(MOUNT_JS, [url, run(first)])
    assert [s["stride"] for s in sent] == [[3, 2], [4, 2]]
    # the first settle's run comes back while the second is on its way: the slider stays, in place
    assert page.evaluate(RUN_JS, run(sent[0])) == ["4", True, "max"]
    assert page.evaluate(RUN_JS, run(sent[1])) == ["4", True, "max"]  # then its own
    # settings from elsewhere (a link, the teacher's share) are adopted and drawn
    assert page.evaluate(RUN_JS, run({**sent[0], "mode": "avg"}))[::2] == ["3", "avg"]


# A pick settles at once: what each frame after it found, the frames counted from the pick.
PICK_JS = """async ([url, data]) => {
    const scrub = await import(url);
    const parent = document.createElement("div");
    parent.innerHTML = '<div class="cnnviz-scrub"></div>';
    document.body.append(parent);
    const root = parent.firstChild, seen = {frames: 0, drawn: null, sent: []};
    const view = {data, parentElement: parent, setStateValue: (_, value) => seen.sent.push(
        {frames: seen.frames, drawn: Number(root.dataset.drawn), mode: value.mode})};
    scrub.default(view);
    await new Promise((resolve) => setTimeout(resolve, 300));  // drawn once
    const before = Number(root.dataset.drawn);
    const count = () => { seen.frames += 1; requestAnimationFrame(count); };
    requestAnimationFrame(count);
    const select = parent.querySelector("select");  // Mode
    select.value = "avg";
    select.dispatchEvent(new Event("change"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {before, redraws: Number(root.dataset.drawn) - before, sent: seen.sent};
}"""


@pytest.mark.browser
def test_a_pick_settles_after_the_frame_that_shows_it(scrub_page, scrub_url):
    """Streamlit's own work for a settle (its rerun request) must not delay the student's redraw:
    the settings reach it only once a frame has begun with the redraw in it."""
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=pool")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    url = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)"
                        ".find((name) => name.endsWith('/scrub.js'))")
    image, settings = pool_settings(IMAGE, {"mode": "max"})
    data = {"kind": "pool", "image": image.tolist(), "settings": settings, "bounds": BOUNDS}
    seen = page.evaluate(PICK_JS, [url, data])
    assert seen["redraws"] == 1
    [sent] = seen["sent"]
    assert sent["mode"] == "avg" and sent["drawn"] == seen["before"] + 1 and sent["frames"] >= 1


HOVER = ".cnnviz-scrub .maps > .hover"  # the label of the output cell under the pointer


def _hovered(page, row: int, column: int) -> str:
    """Move the pointer to the maps' cell (row, column of the side-by-side axes); its label."""
    page.locator(".cnnviz-scrub .maps").scroll_into_view_if_needed()
    page.mouse.move(*page.evaluate(CELL_JS, [row, column]))
    page.locator(HOVER).wait_for(state="visible")
    return page.locator(HOVER).text_content()


def _hover_value(label: str) -> float:
    return float(label.split(":")[-1].replace("\u2212", "-"))


@pytest.mark.browser
def test_a_preset_pick_paints_the_maps_and_hover_shows_the_new_values(scrub_page, scrub_url):
    """The maps are painted, never a Plotly heatmap: a pick redraws once, and the label under
    the pointer shows the new value at once; it follows a change while the pointer rests."""
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    drawn = "() => Number(document.querySelector('.cnnviz-scrub').dataset.drawn)"
    before = page.evaluate(drawn)
    sobel = ops.conv_forward(IMAGE[None, :, :, None].astype(np.float32), SOBEL[:, :, None, None],
                             np.zeros((1, 1, 1, 1)), None, "valid")[0, 4, 2, 0]
    shown = _hovered(page, 4, 2)
    assert shown.startswith("map 1, row 4, column 2:")
    assert _hover_value(shown) == pytest.approx(sobel, rel=1e-3)
    page.get_by_label("Preset").select_option("Gaussian blur")  # filter 1's kernel: a new grid
    _wait_for_settings(page, '"presets": ["Gaussian blur", "Gaussian blur"]')
    assert page.evaluate(drawn) == before + 1
    assert page.get_by_label("kernel row 2 column 2").input_value() == "0.25"
    assert page.locator(".cnnviz-scrub .maps .hm").count() == 0  # no heatmap trace to replot
    blur = ops.conv_forward(IMAGE[None, :, :, None].astype(np.float32),
                            kernels.preset_kernel("Gaussian blur")[:, :, None, None],
                            np.zeros((1, 1, 1, 1)), None, "valid")[0, 4, 2, 0]
    assert _hover_value(page.locator(HOVER).text_content()) == pytest.approx(blur, rel=1e-3)
    page.mouse.move(0, 0)
    page.locator(HOVER).wait_for(state="hidden")


@pytest.mark.browser
def test_play_walks_the_window_and_pause_settles(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    formula = page.locator(".cnnviz-scrub .formula")
    start = formula.inner_text()
    play = page.get_by_role("button", name="Play")
    play.click()
    page.wait_for_function("(start) => document.querySelector('.cnnviz-scrub .formula')"
                           ".innerText !== start", arg=start)
    page.get_by_role("button", name="Pause").click()
    i, j = (page.get_by_label(name).input_value() for name in ("row i", "column j"))
    _wait_for_settings(page, f'"position": [{i}, {j}, 0]')  # where the window stopped


@pytest.mark.browser
def test_a_bad_kernel_cell_is_refused_and_the_last_good_kernel_stays(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    cell = page.get_by_label("kernel row 1 column 1")
    cell.fill("abc")
    cell.press("Enter")
    message = page.locator(".cnnviz-scrub .message")
    assert "not a finite number" in message.inner_text()
    assert '"kernels": [[[1.0, 0.0, -1.0]' in page.evaluate(SETTINGS_JS)
    cell.fill("3")
    cell.press("Enter")
    _wait_for_settings(page, '"kernels": [[[3.0, 0.0, -1.0]')
    assert message.inner_text() == ""
    assert '"Sobel left (edited)"' in page.evaluate(SETTINGS_JS)


@pytest.mark.browser
def test_pooling_marks_every_tied_maximum(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=pool")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    page.get_by_label("column j").focus()
    page.keyboard.press("ArrowRight")  # output (3, 2) -> (3, 3)
    _wait_for_settings(page, '"position": [3, 3]')
    texts = page.evaluate("() => [...document.querySelectorAll('.cnnviz-scrub .step tr')]"
                          ".map((row) => [...row.cells].map((cell) => cell.textContent))")
    # rows 6-7, columns 6-7 of (r + c) % 7: two 6s, both the maximum
    assert texts == [["5", "★6"], ["★6", "0"]]


CELL_JS = """([row, column]) => {  // the page coordinates of a cell's centre on the maps' axes
    const plot = document.querySelector('.cnnviz-scrub .maps'), layout = plot._fullLayout;
    const box = plot.getBoundingClientRect();
    return [box.left + layout._size.l + layout.xaxis.d2p(column),
            box.top + layout._size.t + layout.yaxis.d2p(row)];
}"""


@pytest.mark.browser
def test_a_click_on_an_output_cell_selects_it_and_its_map(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    x, y = page.evaluate(CELL_JS, [2, 8 + 1 + 3])  # row 2, column 3 of the second map
    page.mouse.click(x, y)
    _wait_for_settings(page, '"position": [2, 3, 1]')
    assert "filter 2, output (2, 3)" in page.locator(".cnnviz-scrub .formula").inner_text()
    assert page.get_by_label("Preset").input_value() == "Gaussian blur"  # filter 2's kernel shown


@pytest.mark.browser
def test_explicit_padding_enables_its_sliders_and_grows_the_maps(scrub_page, scrub_url):
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    assert page.get_by_label("pw").is_disabled()  # "valid": no explicit padding to set
    page.get_by_label("Padding").select_option("explicit")  # pads (1, 1): 12 x 10 maps
    widths = PAINTED_COLUMNS_JS
    page.wait_for_function(f"() => ({widths})() === 10 + 1 + 10")
    page.get_by_label("pw").focus()
    page.keyboard.press("ArrowRight")  # pw 2: 12 maps wide
    page.wait_for_function(f"() => ({widths})() === 12 + 1 + 12")
    _wait_for_settings(page, '"pad": [1, 2], "padding": "explicit"')


# Each output cell's colour on the maps' canvas (read at the cell's centre), and in the image of
# Plotly.js's own heatmap of the same values (z, zmin, zmax), drawn for the test in a new node.
PIXELS_JS = """async ([z, limit]) => {
    const plot = document.querySelector('.cnnviz-scrub .maps'), layout = plot._fullLayout;
    const canvas = plot.querySelector('canvas.cells'), scale = canvas.width / layout.width;
    const rows = z.length, columns = z[0].length;
    const node = document.body.appendChild(document.createElement('div'));
    await Plotly.newPlot(node, [{type: 'heatmap', z, colorscale: 'RdBu', zmin: -limit,
                                 zmax: limit, showscale: false}],
                         {yaxis: {autorange: 'reversed'}});  // row 0 on top, as the maps
    const png = new Image();
    png.src = node.querySelector('.hm image').getAttribute('href');
    await png.decode();
    const copy = Object.assign(document.createElement('canvas'),
                               {width: png.width, height: png.height}).getContext('2d');
    copy.drawImage(png, 0, 0);
    const read = (context, x, y) => Array.from(context.getImageData(x, y, 1, 1).data);
    const cells = [], plotly = [];
    for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
            cells.push(read(canvas.getContext('2d'),
                            Math.floor((layout.xaxis._offset + layout.xaxis.d2p(c)) * scale),
                            Math.floor((layout.yaxis._offset + layout.yaxis.d2p(r)) * scale)));
            plotly.push(read(copy, Math.floor((c + 0.5) / columns * png.width),
                             Math.floor((r + 0.5) / rows * png.height)));
        }
    }
    node.remove();
    return [cells, plotly];
}"""


@pytest.mark.browser
def test_the_maps_canvas_shows_plotlys_colours_of_the_numpy_maps(scrub_page, scrub_url):
    """The canvas paints the cells as Plotly's heatmap would: its pixels after a bias change must
    be Plotly.js's RdBu (zmin -max|A|, zmax max|A|) of cnnviz.nn.ops' maps, the same pixels as
    Plotly.js's own heatmap image of them; hover shows the new values."""
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    page.get_by_label("bias b").focus()
    page.keyboard.press("ArrowRight")  # bias 0.1: every value new, the same cells
    _wait_for_settings(page, '"bias": 0.1')
    W = np.stack([kernels.preset_kernel(n) for n in ("Sobel left", "Gaussian blur")], axis=-1)
    A = ops.conv_forward(IMAGE[None, :, :, None].astype(np.float32), W[:, :, None, :],
                         np.full((1, 1, 1, 2), 0.1, np.float32), None, "valid")[0]  # (10, 8, 2)
    h, w, _ = A.shape
    limit = float(np.abs(A).max())
    expected = plotly_colours(A, "RdBu", -limit, limit)
    shown = _hovered(page, 3, w + 1 + 5)  # row 3, column 5 of the second map
    assert shown.startswith("map 2, row 3, column 5:")
    assert _hover_value(shown) == pytest.approx(A[3, 5, 1], rel=1e-3)
    page.mouse.move(0, 0)
    z = [[*A[r, :, 0].tolist(), None, *A[r, :, 1].tolist()] for r in range(h)]
    cells, plotly = (np.array(p).reshape(h, 2 * w + 1, 4)
                     for p in page.evaluate(PIXELS_JS, [z, limit]))
    for f in range(2):
        painted = cells[:, f * (w + 1):f * (w + 1) + w]
        assert (painted[..., 3] == 255).all()
        assert np.abs(painted[..., :3] - expected[:, :, f]).max() <= 1, f"map {f + 1}"
    assert (cells[:, w, 3] == 0).all()  # the gap between the maps: the white behind
    assert np.array_equal(cells, plotly)  # the same pixels as Plotly's image of the same values


# What the student sees in the frame of a redraw, read when the component counts it (a mutation
# observer's callback, before anything run later or when idle): the maps' painted cells at each
# cell's centre on Plotly's axes of that moment, their x tick labels and the columns under them,
# both plots' ranges and the size of their cells.
SEEN_AT_DRAW_JS = """() => {
    const root = document.querySelector('.cnnviz-scrub');
    const [input, maps] = ['.input', '.maps'].map((s) => root.querySelector(s));
    window.seenAtDraw = [];
    new MutationObserver(() => {
        const layout = maps._fullLayout, [h, columns] = maps.dataset.cells.split(' ').map(Number);
        const canvas = maps.querySelector('canvas.cells'), scale = canvas.width / layout.width;
        const context = canvas.getContext('2d'), cells = [];
        for (let r = 0; r < h; r++) {
            for (let c = 0; c < columns; c++) {
                const x = (layout.xaxis._offset + layout.xaxis.d2p(c)) * scale;
                const y = (layout.yaxis._offset + layout.yaxis.d2p(r)) * scale;
                const pixel = context.getImageData(Math.floor(x), Math.floor(y), 1, 1);
                cells.push(Array.from(pixel.data));
            }
        }
        const ticks = [...maps.querySelectorAll('.labels span.tick')];
        // pixels per cell across and down, on each plot
        const cell = (plot) => ['xaxis', 'yaxis'].map((a) => plot._fullLayout[a]).map(
            (axis) => axis._length / Math.abs(axis.range[1] - axis.range[0]));
        window.seenAtDraw.push({h, columns, cells,
            ticks: ticks.map((t) => t.textContent),
            tickColumns: ticks.map((t) => layout.xaxis.p2d(parseFloat(t.style.left)
                                                           - layout.xaxis._offset)),
            maps: [layout.xaxis.range, layout.yaxis.range],
            input: [input._fullLayout.xaxis.range, input._fullLayout.yaxis.range],
            cellSizes: [cell(maps), cell(input)]});
    }).observe(root, {attributes: true, attributeFilter: ['data-drawn']});
}"""


def _covers(axis_range, low, high) -> bool:
    """Whether a Plotly axis range (either way round) shows [low, high]."""
    return min(axis_range) <= low + 1e-9 and max(axis_range) >= high - 1e-9


@pytest.mark.browser
def test_a_new_size_is_painted_and_its_axes_drawn_in_the_frame_of_the_change(scrub_page,
                                                                             scrub_url):
    """Stride and padding change the maps' size: in the redraw's own frame, the canvas must show
    Plotly.js's RdBu of cnnviz.nn.ops' maps of the new size, on axes already showing it (ranges
    around every cell, each map's column ticks), and the input's axes its new padding; hovering
    then shows the new values."""
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    page.evaluate(SEEN_AT_DRAW_JS)
    page.get_by_label("Padding").select_option("same")  # pads (1, 1): 12 x 10 maps
    _wait_for_settings(page, '"padding": "same"')
    page.get_by_label("stride sh").focus()
    page.keyboard.press("ArrowRight")  # stride (2, 1): 6 x 10 maps
    _wait_for_settings(page, '"stride": [2, 1]')
    W = np.stack([kernels.preset_kernel(n) for n in ("Sobel left", "Gaussian blur")], axis=-1)
    seen = page.evaluate("() => window.seenAtDraw")
    assert len(seen) == 2
    # "same" pads (TensorFlow's rule): 1 all round at stride 1; at stride 2 down, 0 above, 1 below
    pads = {(1, 1): ((1, 1), (1, 1)), (2, 1): ((0, 1), (1, 1))}
    for stride, frame in zip([(1, 1), (2, 1)], seen):
        A = ops.conv_forward(IMAGE[None, :, :, None].astype(np.float32), W[:, :, None, :],
                             np.zeros((1, 1, 1, 2), np.float32), None, "same", stride)[0]
        h, w, _ = A.shape
        assert (frame["h"], frame["columns"]) == (h, 2 * w + 1)
        limit = float(np.abs(A).max())
        expected = plotly_colours(A, "RdBu", -limit, limit)
        cells = np.array(frame["cells"]).reshape(h, 2 * w + 1, 4)
        for f in range(2):
            painted = cells[:, f * (w + 1):f * (w + 1) + w]
            assert np.abs(painted[..., :3] - expected[:, :, f]).max() <= 1, (stride, f)
        x, y = frame["maps"]
        assert _covers(x, -0.5, 2 * w + 0.5) and _covers(y, -0.5, h - 0.5), (stride, x, y)
        step = -(-w // 4)  # draw.js: four ticks a map at most
        assert frame["ticks"] == [str(c) for c in range(0, w, step)] * 2, stride
        expected_columns = [f * (w + 1) + c for f in range(2) for c in range(0, w, step)]
        assert frame["tickColumns"] == pytest.approx(expected_columns, abs=0.01), stride
        for across, down in frame["cellSizes"]:  # square cells on both plots
            assert across == pytest.approx(down, rel=0.01), stride
        x, y = frame["input"]
        (top, bottom), (left, right) = pads[stride]
        assert _covers(x, -left - 0.5, 9 + right + 0.5), (stride, x)
        assert _covers(y, -top - 0.5, 11 + bottom + 0.5), (stride, y)
        assert min(y) == pytest.approx(-top - 0.5) or min(x) == pytest.approx(-left - 0.5)
    # hover reads the new size: the last cell of map 2
    shown = _hovered(page, h - 1, 2 * w)
    assert shown.startswith(f"map 2, row {h - 1}, column {w - 1}:")
    assert _hover_value(shown) == pytest.approx(A[-1, -1, 1], rel=1e-3)


RANGES_JS = """(name) => {  // a plot's x and y ranges, and its cells' pixels across and down
    const layout = document.querySelector(`.cnnviz-scrub .${name}`)._fullLayout;
    return [layout.xaxis.range, layout.yaxis.range, ...[layout.xaxis, layout.yaxis].map(
        (axis) => axis._length / Math.abs(axis.range[1] - axis.range[0]))];
}"""


@pytest.mark.browser
@pytest.mark.parametrize("name", ["input", "maps"])
def test_a_double_click_shows_the_whole_plot_again_after_a_zoom(scrub_page, scrub_url, name):
    """After a new size and a zoom, a double click gives back the plot's whole, square-celled
    view of the present size: not Plotly's autorange, nor the ranges of its first draw."""
    page = scrub_page
    page.goto(f"{scrub_url}/?kind=conv")
    page.wait_for_selector(".cnnviz-scrub[data-drawn]")
    page.get_by_label("Padding").select_option("same")  # the input's ranges grow, the maps too
    _wait_for_settings(page, '"padding": "same"')
    whole = page.evaluate(RANGES_JS, name)
    drag = page.locator(f".cnnviz-scrub .{name} .nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()  # a zoom
    page.wait_for_function(f"(whole) => JSON.stringify(({RANGES_JS})('{name}')) !== "
                           "JSON.stringify(whole)", arg=whole)
    page.wait_for_timeout(400)  # past Plotly's double-click window (300 ms) after the drag
    drag.dblclick(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    page.wait_for_function(f"(whole) => JSON.stringify(({RANGES_JS})('{name}').slice(0, 2)) === "
                           "JSON.stringify(whole.slice(0, 2))", arg=whole)
    across, down = page.evaluate(RANGES_JS, name)[2:]
    assert across == pytest.approx(down, rel=0.01)
