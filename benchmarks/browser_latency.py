"""`python -m benchmarks browser`: the app in a real browser, idle and while another user trains.

Starts `streamlit run app.py` on a free local port (runs go to a temporary folder) and drives
Debian's chromium (/usr/bin/chromium, never a downloaded browser) with Playwright, through the
helpers in benchmarks/browser.py. Measures
- cold start: server process launched -> health check answers -> first page rendered;
- the convolution page: time from a control change (key press or click) to the output chart
  redrawn with new data, p50/p95 over N changes;
- the same while another browser context trains LeNet-5 on the same server.
Prints Markdown for BENCHMARKS.md.
"""

import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version

from playwright.sync_api import Page, expect, sync_playwright

from benchmarks import browser
from benchmarks.common import argument_parser, machine, print_json_line


def convolution_changes(page: Page) -> list[tuple[str, Callable[[], object]]]:
    """Four control changes that each redraw the convolution page's output chart, and undo it."""
    def number(label, value):
        return lambda: browser.type_number(page, label, value).press("Enter")

    def radio(label, option):
        return lambda: browser.choose_radio(page, label, option)

    return [("stride sh 2", number("Stride sh", 2)), ("padding same", radio("Padding", "same")),
            ("stride sh 1", number("Stride sh", 1)), ("padding valid", radio("Padding", "valid"))]


def change_latencies(page: Page, changes: Iterator[tuple[str, Callable[[], object]]],
                     count: int) -> list[float]:
    """Seconds from each of the next `count` control changes on the convolution page to the
    redrawn output. `changes` carries on where the last call stopped: each change is a real one."""
    seconds = []
    for _, change in itertools.islice(changes, count):
        seconds.append(browser.changed_chart(page, "outputs", change))
        browser.wait_for_app(page, settle_ms=0)
    return seconds


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    cuts = statistics.quantiles(seconds, n=20, method="inclusive")
    return statistics.median(seconds) * 1e3, cuts[18] * 1e3


def main(argv: list[str]) -> int:
    parser = argument_parser("browser", __doc__)
    parser.add_argument("--changes", type=int, default=20,
                        help="control changes timed per condition")
    parser.add_argument("--backend", default="Keras",
                        help="training page's backend option, as labelled")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as runs, sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        chromium_version = chromium.version
        try:
            launched = time.perf_counter()
            with browser.streamlit_server({"CNNVIZ_RUNS_DIR": runs}) as url:
                healthy = time.perf_counter() - launched
                page = browser.new_page(chromium)
                browser.open_page(page, url)
                expect(page.get_by_role("heading", name="cnnviz")).to_be_visible()
                first_page = time.perf_counter() - launched
                start = time.perf_counter()
                browser.open_page(page, f"{url}/convolution")
                first_convolution = time.perf_counter() - start
                changes = itertools.cycle(convolution_changes(page))
                idle = change_latencies(page, changes, args.changes)
                trainer = browser.new_page(chromium)
                browser.start_training(trainer, url, backend=args.backend, epochs=50)
                browser.wait_for_batches(trainer, 1)
                seen = browser.batches_seen(trainer)
                busy = change_latencies(page, changes, args.changes)
                seen = browser.batches_seen(trainer) - seen
                if not trainer.locator(".st-key-train_stop button").is_enabled():
                    raise RuntimeError("the run ended during the timed changes: "
                                       f"{browser.errors(trainer)}")
                browser.stop_training(trainer)
        finally:
            chromium.close()
    import streamlit

    machine_line = machine(Streamlit=streamlit.__version__, Playwright=version("playwright"),
                           Chromium=chromium_version)
    print(f"Machine: {machine_line}\n")
    print(f"Cold start: server answers its health check {healthy:.1f} s after launch; home page "
          f"rendered in chromium {first_page:.1f} s after launch; then the convolution page (first "
          f"visit, all charts drawn) in {first_convolution:.1f} s.\n")
    print("| convolution page, control change -> output chart redrawn | p50 (ms) | p95 (ms) "
          "| changes |")
    print("|---|---:|---:|---:|")
    training = f"while another context trains ({args.backend}; {seen} batches during the changes)"
    idle_ms, busy_ms = percentiles(idle), percentiles(busy)
    for label, seconds, (p50, p95) in (("server idle", idle, idle_ms), (training, busy, busy_ms)):
        print(f"| {label} | {p50:.0f} | {p95:.0f} | {len(seconds)} |")
    if args.json:
        print_json_line({
            "benchmark": "browser", "machine": machine_line, "backend": args.backend,
            "changes": args.changes, "cold_health_s": healthy, "cold_home_s": first_page,
            "cold_conv_s": first_convolution, "p50_ms": idle_ms[0], "p95_ms": idle_ms[1],
            "p50_training_ms": busy_ms[0], "p95_training_ms": busy_ms[1],
            "batches_during_changes": seen,
        })
    return 0
