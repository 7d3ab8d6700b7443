"""`python -m benchmarks classroom-train`: a class presses Start training at once.

- class: `cnnviz app` (runs to a temporary folder, its training on the server's
  embedded Ray) and N browser contexts on the Training page (Debian's chromium, Playwright),
  each set up for the same short run, press Start within about a second. Meanwhile the server's
  process tree (server, Ray, workers) is sampled every 0.2 s: memory (PSS summed: shared pages
  counted once; RSS summed too), TensorFlow processes (libtensorflow mapped), the server alive;
  one more context times control -> maps redrawn by the convolution page's scrub component
  (benchmarks/browser.scrubbed); each trainer page notes, in
  the browser, the places in the queue it showed, its first batch and its run's end. Then the
  runs' records tell whether they started in the order they were submitted.
- single: one run, same settings, through a spawned process (the runner before Ray, kept here as
  the reference) and through Ray in this process (its start timed apart, then two runs: the
  first starts Ray's first worker): seconds from start to first batch, images/s, wall time.

Prints Markdown for BENCHMARKS.md; with --json, then one line of JSON with the figures.
"""

import itertools
import multiprocessing
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from benchmarks import browser
from benchmarks.browser_latency import convolution_changes, percentiles
from benchmarks.common import argument_parser, descendants, machine, print_json_line
from benchmarks.server import started_server
from cnnviz import training
from cnnviz.data.datasets import load_dataset
from cnnviz.training.limits import MAX_RUNS_ENV

PARTS = ("class", "single")
BACKENDS = {"Keras": "keras", "TensorFlow 1 graph": "tf1", "NumPy (cnnviz.ops)": "numpy"}
MIB = 2**20
# in each trainer page: when its first batch showed, when its run ended, the places it showed
WATCH_JS = """() => {
    window.cnnviz = {firstBatch: null, ended: null, places: []};
    setInterval(() => {
        const seen = window.cnnviz, now = Date.now();
        const plot = document.querySelector('.st-key-live_batches .js-plotly-plot');
        if (!seen.firstBatch && plot && plot.data && plot.data.length && plot.data[0].x.length)
            seen.firstBatch = now;
        const text = document.body.innerText;
        const ahead = text.match(/you are next|(\\d+) runs are ahead of yours/);
        if (ahead) {
            const place = ahead[1] ? Number(ahead[1]) + 1 : 1;
            if (seen.places[seen.places.length - 1] !== place) seen.places.push(place);
        }
        const headings = [...document.querySelectorAll('h2')].map(h => h.innerText);
        if (!seen.ended && headings.includes('Results')) seen.ended = now;
    }, 100);
}"""


class PeakSampler(threading.Thread):
    """Samples process `pid` and its descendants every `every` seconds until stopped: peak PSS
    and RSS sums, the most processes with TensorFlow loaded at once, whether the root stayed
    alive."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.halt = pid, every, threading.Event()
        self.peak_pss = self.peak_rss = self.tensorflow = self.processes = 0
        self.alive, self.last_pss = True, 0

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.alive &= _running(self.pid)
            pids = [self.pid, *descendants(self.pid)]
            pss = rss = tensorflow = 0
            for pid in pids:
                memory = _memory_kib(pid)
                pss, rss = pss + memory.get("Pss", 0), rss + memory.get("Rss", 0)
                tensorflow += _loads_tensorflow(pid)
            self.last_pss = pss * 1024
            self.peak_pss = max(self.peak_pss, self.last_pss)
            self.peak_rss = max(self.peak_rss, rss * 1024)
            self.tensorflow = max(self.tensorflow, tensorflow)
            self.processes = max(self.processes, len(pids))

    def stop(self) -> None:
        self.halt.set()
        self.join()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # not a zombie
    except OSError:
        return False


def _memory_kib(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return {line.split(":")[0]: int(line.split()[1]) for line in rollup
                    if line.endswith("kB\n")}
    except OSError:
        return {}


def _loads_tensorflow(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return any("libtensorflow" in line for line in maps)
    except OSError:
        return False


def classroom(args) -> dict:
    """N sessions press Start within about a second; the figures of the class part."""
    with tempfile.TemporaryDirectory() as runs, sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        env = {"CNNVIZ_RUNS_DIR": runs}
        if args.max_runs:
            env[MAX_RUNS_ENV] = str(args.max_runs)
        try:
            with started_server(env) as server:
                url = server.url
                sampler = PeakSampler(server.pid)
                sampler.start()
                trainers = [browser.new_page(chromium) for _ in range(args.sessions)]
                for page in trainers:
                    browser.prepare_training(page, url, backend=args.backend, epochs=args.epochs,
                                             images=args.images)
                    page.evaluate(WATCH_JS)
                explorer = browser.new_page(chromium)
                browser.open_page(explorer, f"{url}/convolution")
                idle_pss = sampler.last_pss
                pressed = []
                for page in trainers:
                    pressed.append(time.time())
                    page.locator(".st-key-train_start button").click()
                spread = pressed[-1] - pressed[0]
                changes, latencies = itertools.cycle(convolution_changes(explorer)), []
                deadline = time.monotonic() + args.timeout
                while not all(_seen(page)["ended"] for page in trainers):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the runs did not all end within {args.timeout} s")
                    if len(latencies) < args.changes:
                        latencies.append(_timed_change(explorer, changes))
                    else:
                        time.sleep(0.5)
                seen = [_seen(page) for page in trainers]
                errors = [text for page in trainers for text in browser.errors(page)]
                time.sleep(1)  # the last worker exits
                after_pss = sampler.last_pss
                sampler.stop()
            chromium_version = chromium.version
        finally:
            chromium.close()
        records = [training.runs.read_record(path.parent) for path in Path(runs).glob("*/run.json")]
    by_submission = sorted(records, key=lambda record: record["submitted"])
    started = [record["started"] for record in by_submission]
    first_batches = [entry["firstBatch"] / 1000 - press for entry, press in zip(seen, pressed)]
    p50, p95 = percentiles(latencies) if len(latencies) > 1 else (None, None)
    return {
        "sessions": args.sessions, "chromium": chromium_version, "press_spread_s": spread,
        "max_runs": args.max_runs or "default", "server_alive": sampler.alive,
        "peak_pss_mib": sampler.peak_pss / MIB, "peak_rss_sum_mib": sampler.peak_rss / MIB,
        "idle_pss_mib": idle_pss / MIB, "after_pss_mib": after_pss / MIB,
        "max_tensorflow_processes": sampler.tensorflow, "max_processes": sampler.processes,
        "statuses": sorted(record["status"] for record in records), "page_errors": errors,
        "started_in_submission_order": started == sorted(started),
        "first_batch_in_press_order": first_batches == sorted(first_batches),
        "places_shown": [entry["places"] for entry in seen],
        "first_batch_s": first_batches,
        "all_ended_s": max(entry["ended"] for entry in seen) / 1000 - pressed[0],
        "explorer_p50_ms": p50, "explorer_p95_ms": p95, "explorer_changes": len(latencies),
    }


def _timed_change(page, changes) -> float:
    """Milliseconds from the next control change in the scrub component to its maps redrawn;
    the browser helpers' timeout (a lower bound) when they are not redrawn by then."""
    _, action = next(changes)
    try:
        return browser.scrubbed(page, action) * 1e3
    except PlaywrightTimeoutError:  # not redrawn within browser.TIMEOUT_MS
        return browser.TIMEOUT_MS
    finally:
        browser.wait_for_app(page)


def _seen(page) -> dict:
    return page.evaluate("() => window.cnnviz")


# --- one run: spawned process against Ray ---------------------------------------------------

class FirstBatch(training.Callback):
    def __init__(self):
        self.at = None

    def on_batch_end(self, batch, logs):
        self.at = self.at or time.perf_counter()


class _QueueBatches(training.Callback):
    """In the spawned process: puts the time of the first batch on the parent's queue."""

    def __init__(self, reports):
        self.reports, self.sent = reports, False

    def on_batch_end(self, batch, logs):
        if not self.sent:
            self.reports.put(("first batch", time.time()))
            self.sent = True


def _spawned(config, dataset, reports) -> None:
    import os

    os.nice(10)  # as the spawned runner did
    history = training.train(config, dataset, [_QueueBatches(reports)]).history
    reports.put(("history", history))


def spawned_run(config, dataset) -> dict:
    """The runner before Ray: a spawned child process per run, at niceness 10."""
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    start = time.time()
    child = context.Process(target=_spawned, args=(config, dataset, reports), daemon=True)
    child.start()
    figures = {}
    while "history" not in figures:
        kind, value = reports.get(timeout=600)
        figures[kind] = value
    child.join()
    return {"first_batch_s": figures["first batch"] - start, "wall_s": time.time() - start,
            "images_per_s": figures["history"].images_per_second}


def ray_run(config, dataset) -> dict:
    first = FirstBatch()
    start = time.perf_counter()
    job = training.start_job(config, dataset, callbacks=[first])
    job.join()
    if job.error:
        raise RuntimeError(job.error)
    return {"first_batch_s": first.at - start, "wall_s": time.perf_counter() - start,
            "images_per_s": job.result.history.images_per_second}


def single(args) -> dict:
    config = training.TrainConfig(backend=BACKENDS[args.backend], epochs=args.epochs,
                                  limit=args.images)
    dataset = load_dataset("mnist")
    figures = {"spawn": spawned_run(config, dataset)}
    start = time.perf_counter()
    training.jobs.SERVICE.submit(lambda: None).result()
    figures["ray_start_s"] = time.perf_counter() - start
    figures["ray_first"] = ray_run(config, dataset)
    figures["ray_second"] = ray_run(config, dataset)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("classroom-train", __doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="parts to run")
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions pressing Start")
    parser.add_argument("--backend", choices=tuple(BACKENDS), default="Keras")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=1000, help="training images per run")
    parser.add_argument("--max-runs", type=int, default=None,
                        help=f"the server's {MAX_RUNS_ENV} (default: its own, cores - 1)")
    parser.add_argument("--changes", type=int, default=20, help="explorer changes timed")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for all runs")
    args = parser.parse_args(argv)
    import ray
    import streamlit

    machine_line = machine(Ray=ray.__version__, Streamlit=streamlit.__version__,
                           Playwright=version("playwright"))
    with open("/proc/loadavg") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    print(f"Machine: {machine_line}; load average at the start {load}\n")
    figures = {"benchmark": "classroom-train", "machine": machine_line, "load_average": load,
               "backend": args.backend, "epochs": args.epochs, "images": args.images}
    if "class" in args.only:
        result = figures["class"] = classroom(args)
        ttfb = result["first_batch_s"]
        print(f"{args.sessions} sessions pressed Start within {result['press_spread_s']:.1f} s "
              f"({args.backend}, {args.epochs} epochs of {args.images} images each; "
              f"CNNVIZ_MAX_RUNS {result['max_runs']}).\n")
        print("| figure | value |\n|---|---:|")
        explorer = (f"{result['explorer_p50_ms'] or 0:.0f} / {result['explorer_p95_ms'] or 0:.0f}"
                    f" ms ({result['explorer_changes']} changes)")
        rows = [
            ("peak memory of the server's process tree (PSS)",
             f"{result['peak_pss_mib']:,.0f} MiB"),
            ("same, RSS summed (shared pages counted in every process)",
             f"{result['peak_rss_sum_mib']:,.0f} MiB"),
            ("before the first run (server, no Ray yet)", f"{result['idle_pss_mib']:,.0f} MiB"),
            ("after the last run (server + idle Ray)", f"{result['after_pss_mib']:,.0f} MiB"),
            ("most TensorFlow processes at once", result["max_tensorflow_processes"]),
            ("server alive throughout", result["server_alive"]),
            ("runs started in submission order", result["started_in_submission_order"]),
            ("first batches in the order Start was pressed", result["first_batch_in_press_order"]),
            ("first in the queue: Start -> first batch", f"{min(ttfb):.1f} s"),
            ("last in the queue: Start -> first batch", f"{max(ttfb):.1f} s"),
            ("all runs ended after", f"{result['all_ended_s']:.1f} s"),
            ("explorer control -> chart p50 / p95 meanwhile", explorer),
        ]
        for label, value in rows:
            print(f"| {label} | {value} |")
        print(f"\nRun statuses: {result['statuses']}; places shown: {result['places_shown']}; "
              f"page errors: {result['page_errors'] or 'none'}\n")
    if "single" in args.only:
        result = figures["single"] = single(args)
        print(f"One run ({args.backend}, {args.epochs} epochs of {args.images} images):\n")
        print("| runner | start -> first batch (s) | wall (s) | images/s |\n|---|---:|---:|---:|")
        for label, key in (("spawned process (before Ray)", "spawn"),
                           ("Ray, first run (Ray already up)", "ray_first"),
                           ("Ray, second run", "ray_second")):
            run = result[key]
            print(f"| {label} | {run['first_batch_s']:.1f} | {run['wall_s']:.1f} | "
                  f"{run['images_per_s']:,.0f} |")
        print(f"\nStarting the embedded Ray itself: {result['ray_start_s']:.1f} s.\n")
    if args.json:
        print_json_line(figures)
    return 0
