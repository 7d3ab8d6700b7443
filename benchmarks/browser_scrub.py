"""The scrub component in chromium, for `python -m benchmarks browser` (browser_latency.py).

- Control change -> output maps redrawn: a key press on one of the component's sliders, or a
  pick in one of its drop-downs (the student's own input events: Playwright's keyboard and
  select_option), timed in page time from the first input event to the animation frame after
  the component's redraw (its `data-drawn` count going up: Plotly has drawn by then). The settle
  each change sends to the server, and the rerun it causes, finish before the next change.
- Dragging the output cell across a whole row: the "column j" slider set to each column in turn,
  one value per animation frame, as fast as the browser redraws: frames per second.
"""

import itertools
from collections.abc import Callable, Iterator

from playwright.sync_api import Page

from benchmarks import browser

Change = tuple[str, Callable[[], object]]

# Page time of the first input event after the watch starts, and of the animation frame after
# the component's next redraw.
_WATCH_JS = """() => {
  const root = document.querySelector('.cnnviz-scrub');
  window.__scrub = {input: null, redrawn: null, draws: Number(root.dataset.drawn)};
  const first = () => { window.__scrub.input ??= performance.now(); };
  for (const type of ['keydown', 'pointerdown', 'input', 'change']) {
    document.addEventListener(type, first, {capture: true, once: true});
  }
  const check = () => {
    if (Number(root.dataset.drawn) > window.__scrub.draws) {
      window.__scrub.redrawn = performance.now();  // this frame paints the redraw
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}"""
_DONE_JS = "() => window.__scrub.redrawn !== null && window.__scrub.input !== null"
_ELAPSED_JS = "() => window.__scrub.redrawn - window.__scrub.input"

# Sets the "column j" slider to 0, 1, ..., w - 1, one per animation frame, each as an input event
# (what a drag sends); returns [columns, milliseconds, redraws, median ms of the component's own
# work per frame (the input handler and the redraw, before the browser lays out and paints)].
_ROW_JS = """async () => {
  const root = document.querySelector('.cnnviz-scrub');
  const slider = [...root.querySelectorAll('input[data-position="1"]')][0];
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const columns = Number(slider.max) + 1, draws = Number(root.dataset.drawn), was = slider.value;
  slider.value = '0';
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  await frame();
  const start = performance.now();
  const work = [];
  for (let j = 1; j < columns; j++) {
    const before = performance.now();
    slider.value = String(j);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    await null;  // the component's redraw (queued before this) has run
    work.push(performance.now() - before);
    await frame();
  }
  const elapsed = performance.now() - start;
  const redraws = Number(root.dataset.drawn) - draws - 1;
  slider.value = was;  // back where it was, and let go: one settle
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  slider.dispatchEvent(new Event('change', {bubbles: true}));
  work.sort((a, b) => a - b);
  return [columns - 1, elapsed, redraws, work[Math.floor(work.length / 2)]];
}"""


def _slide(page: Page, label: str, key: str) -> Callable[[], object]:
    return lambda: browser.scrub_slide(page, label, 1, key)


def _nudge(page: Page, label: str) -> Callable[[], object]:
    """One step of an output-cell slider: right, or left when it is at its end."""
    def nudge() -> None:
        slider = page.locator(browser.SCRUB).get_by_label(label)
        at_end = slider.evaluate("(input) => input.value === input.max")
        browser.scrub_slide(page, label, 1, "ArrowLeft" if at_end else "ArrowRight")
    return nudge


def _pick(page: Page, label: str, option: str) -> Callable[[], object]:
    return lambda: browser.scrub_select(page, label, option)


def convolution_changes(page: Page) -> list[Change]:
    """The Convolution page's scrubbed settings, each changed and then changed back."""
    there = [("stride sh +1", _slide(page, "stride sh", "ArrowRight")),
             ("padding same", _pick(page, "Padding", "same")),
             ("bias +0.1", _slide(page, "bias b", "ArrowRight")),
             ("activation relu", _pick(page, "Activation", "relu")),
             ("row i", _nudge(page, "row i")),
             ("preset Gaussian blur", _pick(page, "Preset", "Gaussian blur"))]
    back = [("stride sh -1", _slide(page, "stride sh", "ArrowLeft")),
            ("padding valid", _pick(page, "Padding", "valid")),
            ("bias -0.1", _slide(page, "bias b", "ArrowLeft")),
            ("activation none", _pick(page, "Activation", "none")),
            ("row i", _nudge(page, "row i")),
            ("preset Sobel left", _pick(page, "Preset", "Sobel left"))]
    return there + back


def pooling_changes(page: Page) -> list[Change]:
    """The Pooling page's scrubbed settings, each changed and then changed back."""
    return [("mode avg", _pick(page, "Mode", "avg")),
            ("window kh +1", _slide(page, "window kh", "ArrowRight")),
            ("stride sw +1", _slide(page, "stride sw", "ArrowRight")),
            ("column j", _nudge(page, "column j")),
            ("mode max", _pick(page, "Mode", "max")),
            ("window kh -1", _slide(page, "window kh", "ArrowLeft")),
            ("stride sw -1", _slide(page, "stride sw", "ArrowLeft")),
            ("column j", _nudge(page, "column j"))]


PAGES = {"convolution": convolution_changes, "pooling": pooling_changes}


# Chromium's long animation frames (over 50 ms) and the scripts over 5 ms that ran in them, kept
# from the page's start (page.add_init_script) to say what a slow scrub waited for.
FRAMES_JS = """(() => {
  window.__frames = [];
  new PerformanceObserver((list) => window.__frames.push(...list.getEntries().map((e) => ({
    start: e.startTime, end: e.startTime + e.duration,
    scripts: e.scripts.map((s) => ({source: s.sourceURL, start: s.startTime,
                                    end: s.startTime + s.duration}))})))
  ).observe({type: 'long-animation-frame', buffered: true});
})();"""
# Of the long frames overlapping the last timed scrub (first input -> redrawn): ms of scripts
# from the component's files (its Plotly.js too), from Streamlit's, and the rest of those frames
# (style, layout, paint, shorter scripts, and time the tab waited for a CPU).
_CAUSES_JS = """() => {
  const {input, redrawn} = window.__scrub, causes = {component: 0, streamlit: 0, rest: 0};
  const within = (start, end) => Math.max(0, Math.min(end, redrawn) - Math.max(start, input));
  for (const frame of window.__frames) {
    let scripts = 0;
    for (const script of frame.scripts) {
      const ms = within(script.start, script.end);
      if (!script.source) continue;
      causes[script.source.includes('/cnnviz.scrub/') ? 'component' : 'streamlit'] += ms;
      scripts += ms;
    }
    causes.rest += Math.max(0, within(frame.start, frame.end) - scripts);
  }
  return causes;
}"""


def scrub_causes(page: Page) -> dict[str, float]:
    """What held the scrubbing tab during its last timed scrub (FRAMES_JS installed): ms of long
    frames' scripts from the component ("component"), from Streamlit ("streamlit"), and the rest
    of those frames ("rest"). All zero: no frame of it took over 50 ms."""
    return page.evaluate(_CAUSES_JS)


def timed_scrub(page: Page, action: Callable[[], object]) -> float:
    """Milliseconds, in page time, from the action's first input event to the frame after the
    component's redraw; then waits for the settle's rerun to end."""
    page.evaluate(_WATCH_JS)
    action()
    page.wait_for_function(_DONE_JS, polling="raf")
    elapsed = page.evaluate(_ELAPSED_JS)
    browser.wait_for_app(page, settle_ms=350)  # longer than the component's settle time
    return elapsed


def scrub_timings(page: Page, changes: Iterator[Change], count: int) -> list[float]:
    """Milliseconds of the next `count` changes (`changes` carries on where it stopped)."""
    return [timed_scrub(page, action) for _, action in itertools.islice(changes, count)]


def row_fps(page: Page) -> tuple[float, int, int, float]:
    """(frames per second, columns, redraws, median ms of the component's work per frame) of the
    output cell dragged across a whole row."""
    page.locator(f"{browser.SCRUB} .maps").scroll_into_view_if_needed()
    columns, milliseconds, redraws, work = page.evaluate(_ROW_JS)
    browser.wait_for_app(page, settle_ms=350)
    return columns / (milliseconds / 1e3), columns, redraws, work
