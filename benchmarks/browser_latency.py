"""`python -m benchmarks browser`: the app in a real browser, idle and while another user trains.

Starts `streamlit run app.py` on a free local port (runs go to a temporary folder) and drives
Debian's chromium (/usr/bin/chromium, never a downloaded browser) with Playwright, through the
helpers in benchmarks/browser.py. Measures
- cold start: server process launched -> health check answers -> home page rendered; then the
  convolution page's first visit, all charts drawn;
- on the convolution, pooling and backprop pages: time from a control change (key press or click)
  to the page's server-drawn part redrawn with new data, p50/p95 over N changes, idle and while
  another browser context trains LeNet-5 on the same server (convolution and pooling: a change in
  the scrub component, until the text the server draws below it follows: the settle's round
  trip; backprop: its dA_prev chart);
- on the convolution and pooling pages, the scrub component (benchmarks/browser_scrub.py): control
  change -> maps redrawn in the browser (scrub_p50_ms, scrub_p95_ms, and while training
  scrub_p95_training_ms), and the output cell dragged across a row (scrub_fps);
- each change broken down inside the page (an init script times the websocket): input event ->
  rerun request sent -> first answer -> last answer before the chart is redrawn -> chart redrawn,
  and the bytes and messages the server sent for the rerun;
- the draw page on a second, fresh server: page opened -> a stroke drawn -> the network's reading
  visible (the first prediction).
Prints Markdown for BENCHMARKS.md; --json adds one line with every figure.
"""

import itertools
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from importlib.metadata import version

from playwright.sync_api import Page, expect, sync_playwright

from benchmarks import browser, browser_scrub
from benchmarks.common import argument_parser, machine, print_json_line

Change = tuple[str, Callable[[], object]]

# Logs, in page time (performance.now()), the user's input events and every websocket message
# (Streamlit's one websocket carries rerun requests up and the rerun's deltas down).
_TIMELINE_JS = """(() => {
  window.__timeline = [];
  const log = (kind, bytes) => window.__timeline.push({kind, t: performance.now(), bytes});
  const size = (data) => data.byteLength ?? data.size ?? data.length ?? 0;
  const Socket = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const socket = new Socket(url, protocols);
    const send = socket.send.bind(socket);
    socket.send = (data) => { log("sent", size(data)); return send(data); };
    socket.addEventListener("message", (event) => log("received", size(event.data)));
    return socket;
  };
  window.WebSocket.prototype = Socket.prototype;
  Object.assign(window.WebSocket, Socket);
  for (const type of ["keydown", "pointerdown"]) {
    document.addEventListener(type, () => log("input", 0), true);
  }
})();"""
# The text the server draws below the scrub component (its formula, step, Markdown): what a
# settle changes on the Convolution and Pooling pages, whose maps the component draws.
_TEXT_SIGNATURE_JS = """() => [...document.querySelectorAll(
    "[data-testid='stMarkdown'], [data-testid='stCode']")]
  .filter((element) => !element.closest('.cnnviz-scrub')).map((e) => e.innerText).join('|')"""
_WATCH_JS = """(key) => {
  window.__timeline = [];
  window.__redrawn = null;
  const signature = () => (key === null ? (TEXT)() : (SIGNATURE)(key));
  const before = signature();
  const check = () => {
    const now = signature();
    if (now !== null && now !== before) { window.__redrawn = performance.now(); return; }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}""".replace("SIGNATURE", browser.SIGNATURE_JS).replace("TEXT", _TEXT_SIGNATURE_JS)


@dataclass
class Timing:
    """One control change: its wall time (Playwright's action to the chart redrawn) and its parts
    in page time, in ms from the input event."""

    total_ms: float  # action started -> chart redrawn with new data (what p50/p95 are taken of)
    request_ms: float  # input event -> rerun request sent on the websocket
    first_answer_ms: float  # -> first message of the rerun received
    last_answer_ms: float  # -> last message received before the chart was redrawn
    redrawn_ms: float  # -> chart redrawn (so redrawn - last answer is the browser's own work)
    bytes_received: int  # everything the server sent for this rerun
    messages: int


def timed_change(page: Page, key: str | None, action: Callable[[], object]) -> Timing:
    """Run `action` and time it until chart `key` shows new data (None: the server's text below
    the scrub component); then wait for the rerun's end."""
    page.evaluate(_WATCH_JS, key)
    start = time.perf_counter()
    action()
    page.wait_for_function("() => window.__redrawn !== null", polling=10)
    total = time.perf_counter() - start
    browser.wait_for_app(page, settle_ms=300)
    timeline, redrawn = page.evaluate("() => [window.__timeline, window.__redrawn]")
    inputs = [e["t"] for e in timeline if e["kind"] == "input"]
    origin = inputs[0] if inputs else timeline[0]["t"]
    sent = [e["t"] - origin for e in timeline if e["kind"] == "sent"]
    received = [e for e in timeline if e["kind"] == "received"]
    before = [e["t"] - origin for e in received if e["t"] <= redrawn] or [float("nan")]
    return Timing(total * 1e3, sent[0] if sent else float("nan"),
                  received[0]["t"] - origin if received else float("nan"), before[-1],
                  redrawn - origin, sum(e["bytes"] for e in received), len(received))


def convolution_changes(page: Page) -> list[Change]:
    """Four changes in the scrub component that each change the convolution page's output size,
    and undo it: each a settle, then a rerun."""
    return [("stride sh 2", lambda: browser.scrub_slide(page, "stride sh")),
            ("padding same", lambda: browser.scrub_select(page, "Padding", "same")),
            ("stride sh 1", lambda: browser.scrub_slide(page, "stride sh", 1, "ArrowLeft")),
            ("padding valid", lambda: browser.scrub_select(page, "Padding", "valid"))]


def pooling_changes(page: Page) -> list[Change]:
    """Four changes of the pooling layer (mode, window) in the scrub component."""
    return [("mode avg", lambda: browser.scrub_select(page, "Mode", "avg")),
            ("window kh 3", lambda: browser.scrub_slide(page, "window kh")),
            ("mode max", lambda: browser.scrub_select(page, "Mode", "max")),
            ("window kh 2", lambda: browser.scrub_slide(page, "window kh", 1, "ArrowLeft"))]


def backprop_changes(page: Page) -> list[Change]:
    """The four kinds of upstream gradient dZ, in turn: each redraws dA_prev."""
    return [(f"dZ {kind}", _radio(page, "Upstream gradient dZ", kind))
            for kind in ("random", "impulse", "target kernel", "all ones")]


PAGES = {  # page -> (chart timed, None: the text below the scrub component; its changes)
    "convolution": (None, convolution_changes),
    "pooling": (None, pooling_changes),
    "backprop": ("dA_prev", backprop_changes),
}


def _radio(page: Page, label: str, option: str) -> Callable[[], object]:
    return lambda: browser.choose_radio(page, label, option)


def page_timings(page: Page, key: str, changes: Iterator[Change], count: int) -> list[Timing]:
    """Timings of the next `count` changes; `changes` carries on where the last call stopped, so
    each change is a real one."""
    return [timed_change(page, key, change) for _, change in itertools.islice(changes, count)]


def percentiles(milliseconds: list[float]) -> tuple[float, float]:
    """(p50, p95)."""
    cuts = statistics.quantiles(milliseconds, n=20, method="inclusive")
    return statistics.median(milliseconds), cuts[18]


def breakdown(timings: list[Timing]) -> dict[str, float]:
    """Medians of each part of a change, as consecutive stages (ms) and sizes."""
    median = {f.name: statistics.median(getattr(t, f.name) for t in timings)
              for f in fields(Timing)}
    stages = {
        "input_to_request_ms": median["request_ms"],
        "request_to_first_answer_ms": statistics.median(t.first_answer_ms - t.request_ms
                                                        for t in timings),
        "first_to_last_answer_ms": statistics.median(t.last_answer_ms - t.first_answer_ms
                                                     for t in timings),
        "last_answer_to_redrawn_ms": statistics.median(t.redrawn_ms - t.last_answer_ms
                                                       for t in timings),
        "input_to_redrawn_ms": median["redrawn_ms"],
        "playwright_action_to_redrawn_ms": median["total_ms"],
    }
    return {**stages, "kb_per_rerun": median["bytes_received"] / 1e3,
            "messages": median["messages"]}


def scrub_page(page: Page, name: str, cycles: dict, scrubs: dict, condition: str,
               count: int) -> None:
    """The scrub component's changes on page `name` (if it has the component) under `condition`,
    and, idle, its row drag's frame rate."""
    if name not in browser_scrub.PAGES:
        return
    cycle = cycles.setdefault(f"scrub {name}", itertools.cycle(browser_scrub.PAGES[name](page)))
    scrubs[condition][name] = browser_scrub.scrub_timings(page, cycle, count)
    if condition == "idle":
        scrubs["fps"][name] = browser_scrub.row_fps(page)


def scrub_report(scrubs: dict) -> dict:
    """Prints the scrub component's figures; returns the JSON keys scrub_*."""
    idle = [ms for timings in scrubs["idle"].values() for ms in timings]
    busy = [ms for timings in scrubs["training"].values() for ms in timings]
    (p50, p95), (busy50, busy95) = percentiles(idle), percentiles(busy)
    fps = min(rate for rate, *_ in scrubs["fps"].values())
    print("\n| scrub component: control -> maps redrawn in the browser | p50 (ms) | p95 (ms) "
          "| changes |\n|---|---:|---:|---:|")
    for condition, timings in (("idle", scrubs["idle"]), ("training", scrubs["training"])):
        for name, values in timings.items():
            print(f"| {name}, {condition} | {percentiles(values)[0]:.1f} "
                  f"| {percentiles(values)[1]:.1f} | {len(values)} |")
    for name, (rate, columns, redraws, work) in scrubs["fps"].items():
        print(f"\nRow drag on {name}: {columns} columns, {redraws} redraws, {rate:.0f} frames/s; "
              f"the component's own work {work:.1f} ms per frame (median).")
    return {"scrub_p50_ms": p50, "scrub_p95_ms": p95, "scrub_p50_training_ms": busy50,
            "scrub_p95_training_ms": busy95, "scrub_fps": fps,
            "scrub_pages": {name: {"idle_ms": scrubs["idle"][name],
                                   "training_ms": scrubs["training"].get(name, []),
                                   "row_fps": scrubs["fps"][name][0],
                                   "row_work_ms": scrubs["fps"][name][3]}
                            for name in scrubs["idle"]}}


def first_prediction(chromium) -> tuple[float, float]:
    """(canvas shown, reading shown), seconds after the draw page is opened on a fresh server."""
    with (tempfile.TemporaryDirectory() as runs,
          browser.streamlit_server({"CNNVIZ_RUNS_DIR": runs}) as url):
        page = browser.new_page(chromium)
        start = time.perf_counter()
        page.goto(f"{url}/draw")
        page.locator("canvas.upper-canvas").first.wait_for(state="visible")
        canvas = time.perf_counter() - start
        browser.draw_stroke(page)
        expect(page.get_by_role("heading", name=re.compile("The network reads"))).to_be_visible()
        shown = time.perf_counter() - start
        page.context.close()
    return canvas, shown


def main(argv: list[str]) -> int:
    parser = argument_parser("browser", __doc__)
    parser.add_argument("--changes", type=int, default=20,
                        help="control changes timed per page and condition")
    parser.add_argument("--scrubs", type=int, default=24,
                        help="scrub component changes timed per page and condition (a multiple "
                             "of 24 ends each page's cycle of changes where it started)")
    parser.add_argument("--backend", default="Keras",
                        help="training page's backend option, as labelled")
    args = parser.parse_args(argv)
    idle, busy = {}, {}
    scrubs = {"idle": {}, "training": {}, "fps": {}}
    with tempfile.TemporaryDirectory() as runs, sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        chromium_version = chromium.version
        try:
            launched = time.perf_counter()
            with browser.streamlit_server({"CNNVIZ_RUNS_DIR": runs}) as url:
                healthy = time.perf_counter() - launched
                page = browser.new_page(chromium)
                page.add_init_script(_TIMELINE_JS)
                browser.open_page(page, url)
                expect(page.get_by_role("heading", name="cnnviz")).to_be_visible()
                first_page = time.perf_counter() - launched
                start = time.perf_counter()
                browser.open_page(page, f"{url}/convolution")
                first_convolution = time.perf_counter() - start
                cycles = {}
                for name, (key, changes) in PAGES.items():
                    if name != "convolution":
                        browser.open_page(page, f"{url}/{name}")
                    cycles[name] = itertools.cycle(changes(page))
                    idle[name] = page_timings(page, key, cycles[name], args.changes)
                    scrub_page(page, name, cycles, scrubs, "idle", args.scrubs)
                trainer = browser.new_page(chromium)
                trainer.set_default_timeout(4 * browser.TIMEOUT_MS)  # TensorFlow's first import
                browser.start_training(trainer, url, backend=args.backend, epochs=100)
                browser.wait_for_batches(trainer, 1)
                seen = browser.batches_seen(trainer)
                for name, (key, _) in PAGES.items():
                    browser.open_page(page, f"{url}/{name}")
                    busy[name] = page_timings(page, key, cycles[name], args.changes)
                    scrub_page(page, name, cycles, scrubs, "training", args.scrubs)
                seen = browser.batches_seen(trainer) - seen
                if not trainer.locator(".st-key-train_stop button").is_enabled():
                    raise RuntimeError("the run ended during the timed changes: "
                                       f"{browser.errors(trainer)}")
                browser.stop_training(trainer)
            canvas_s, prediction_s = first_prediction(chromium)
        finally:
            chromium.close()
    import streamlit

    machine_line = machine(Streamlit=streamlit.__version__, Playwright=version("playwright"),
                           Chromium=chromium_version)
    print(f"Machine: {machine_line}\n")
    print(f"Cold start: server answers its health check {healthy:.1f} s after launch; home page "
          f"rendered in chromium {first_page:.1f} s after launch; then the convolution page (first "
          f"visit, all charts drawn) in {first_convolution:.1f} s. Draw page on a fresh server: "
          f"canvas shown {canvas_s:.1f} s after the page was opened, a stroke drawn, its reading "
          f"shown {prediction_s:.1f} s after.\n")
    training = f"while another context trains ({args.backend}; {seen} batches in all)"
    print("| page, control change -> chart redrawn | idle p50 (ms) | idle p95 (ms) "
          "| training p50 (ms) | training p95 (ms) | changes |")
    print("|---|---:|---:|---:|---:|---:|")
    figures = {}
    for name in PAGES:
        (p50, p95), (busy50, busy95) = (percentiles([t.total_ms for t in timings])
                                        for timings in (idle[name], busy[name]))
        print(f"| {name} | {p50:.0f} | {p95:.0f} | {busy50:.0f} | {busy95:.0f} "
              f"| {len(idle[name])} + {len(busy[name])} |")
        prefix = "" if name == "convolution" else f"{name}_"
        figures.update({f"{prefix}p50_ms": p50, f"{prefix}p95_ms": p95,
                        f"{prefix}p50_training_ms": busy50, f"{prefix}p95_training_ms": busy95})
    print(f"\nTraining: {training}.\n")
    parts = {name: breakdown(idle[name]) for name in PAGES}
    stages = list(parts["convolution"])
    print("| one change, medians, server idle | " + " | ".join(PAGES) + " |")
    print("|---|" + "---:|" * len(PAGES))
    for stage in stages:
        print(f"| {stage} | " + " | ".join(f"{parts[name][stage]:.0f}" for name in PAGES) + " |")
    scrub_figures = scrub_report(scrubs)
    if args.json:
        print_json_line({
            "benchmark": "browser", "machine": machine_line, "backend": args.backend,
            "changes": args.changes, "cold_health_s": healthy, "cold_home_s": first_page,
            "cold_conv_s": first_convolution, "draw_canvas_s": canvas_s,
            "draw_first_prediction_s": prediction_s, **figures, "batches_during_changes": seen,
            "breakdown_idle": parts, **scrub_figures,
        })
    return 0
