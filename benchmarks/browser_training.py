"""`python -m benchmarks scrub-training`: what slows scrubbing while a run trains (issue 23).

`python -m benchmarks browser` times the scrub component while another browser context trains
LeNet-5 on the same server, so three things share the CPUs with the scrubbing page: the Ray
worker that trains, and the trainer's tab, whose live curves are polled and redrawn (with the
server's fragment reruns that serve them). This benchmark starts the same run, then times the
same scrubs on the Convolution page (browser_scrub's changes) in phases, alternated round by
round so that other load falls on each alike:
- watching: as in `benchmarks browser`;
- frozen: the trainer's tab frozen (CDP Page.setWebLifecycleState): the run goes on, nothing
  polls or redraws it;
- stopped: the tab frozen and the run's Ray worker stopped (SIGSTOP; SIGCONT after).
Each scrub slower than the goal (50 ms) is attributed to what held the scrubbing tab meanwhile
(browser_scrub.scrub_causes: Chromium's long animation frames): the component's scripts,
Streamlit's, or the rest of those frames (rendering, short tasks, waiting for a CPU).
--baseline CHECKOUT adds a second scrubbing tab whose component JavaScript is that checkout's
(another branch's, say), its scrubs alternated one by one with this checkout's: an A/B that holds
on a shared machine. Prints p50/p95 per phase and the batches trained; --json adds one line.
"""

import itertools
import os
import re
import signal
import statistics
import tempfile
from importlib.metadata import version
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks import browser, browser_scrub
from benchmarks.common import argument_parser, machine, print_json_line

PHASES = ("watching", "frozen", "stopped")
GOAL_MS = 50  # issue 23: control -> maps redrawn, p95
_ASSET = re.compile(r"/cnnviz\.scrub/(scrub|controls|draw|conv|paint)\.js(\?.*)?$")


def training_workers(runs_dir: str) -> list[int]:
    """Pids of the Ray workers training for the server whose runs go to runs_dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "cmdline").read_bytes().startswith(b"ray::TrainingWorker") and \
                    f"CNNVIZ_RUNS_DIR={runs_dir}".encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


def set_phase(phase: str, tab, workers: list[int]) -> None:
    """Freeze or wake the trainer's tab (a CDP session) and stop or continue the workers."""
    tab.send("Page.setWebLifecycleState", {"state": "active" if phase == "watching" else "frozen"})
    for pid in workers:
        os.kill(pid, signal.SIGSTOP if phase == "stopped" else signal.SIGCONT)


def percentiles(milliseconds: list[float]) -> tuple[float, float]:
    return (statistics.median(milliseconds),
            statistics.quantiles(milliseconds, n=20, method="inclusive")[18])


def baseline_assets(page, checkout: Path) -> None:
    """Serve `page` the component's JavaScript of another checkout (Plotly.js stays this one's)."""
    assets = checkout / "cnnviz" / "ui" / "scrub" / "assets"
    page.route(_ASSET, lambda route: route.fulfill(
        path=assets / f"{_ASSET.search(route.request.url).group(1)}.js",
        content_type="text/javascript"))


def scrubbing_tabs(chromium, url: str, baseline: Path | None) -> dict:
    """{"this": page[, "baseline": page]}, each on the Convolution page, long frames recorded."""
    tabs = {}
    for name in ("this", "baseline") if baseline else ("this",):
        page = browser.new_page(chromium)
        page.add_init_script(browser_scrub.FRAMES_JS)
        if name == "baseline":
            baseline_assets(page, baseline)
        browser.open_page(page, f"{url}/convolution")
        tabs[name] = page
    return tabs


def timed_phases(url: str, runs: str, chromium, args) -> tuple[dict, dict]:
    """({(phase, tab): [(ms, causes)]}, batches trained per phase), the run started from the
    Training page; with two tabs, their scrubs alternate (who goes first swaps each round)."""
    tabs = scrubbing_tabs(chromium, url, args.baseline)
    trainer = browser.new_page(chromium)
    trainer.set_default_timeout(4 * browser.TIMEOUT_MS)  # TensorFlow's first import
    browser.start_training(trainer, url, backend=args.backend, epochs=100)
    browser.wait_for_batches(trainer, 1)
    tab, workers = trainer.context.new_cdp_session(trainer), training_workers(runs)
    if not workers:
        raise RuntimeError("the run's Ray worker was not found in /proc")
    changes = {name: itertools.cycle(browser_scrub.PAGES["convolution"](page))
               for name, page in tabs.items()}
    timings = {(phase, name): [] for phase in PHASES for name in tabs}
    batches = dict.fromkeys(PHASES, 0)
    try:
        for round_ in range(args.rounds):
            order = list(tabs) if round_ % 2 == 0 else list(tabs)[::-1]
            for phase in PHASES:
                set_phase(phase, tab, workers)
                seen = browser.batches_seen(trainer) if phase == "watching" else None
                for name in itertools.islice(itertools.cycle(order), args.per_phase * len(tabs)):
                    _, action = next(changes[name])
                    milliseconds = browser_scrub.timed_scrub(tabs[name], action)
                    timings[phase, name].append(
                        (milliseconds, browser_scrub.scrub_causes(tabs[name])))
                if seen is not None:
                    batches[phase] += browser.batches_seen(trainer) - seen
    finally:
        set_phase("watching", tab, workers)
    browser.stop_training(trainer)
    return timings, batches


def slow_causes(scrubs: list[tuple[float, dict]]) -> tuple[int, dict[str, float]]:
    """(scrubs slower than the goal, the median ms of each cause over them)."""
    slow = [causes for milliseconds, causes in scrubs if milliseconds > GOAL_MS]
    return len(slow), {cause: statistics.median(c[cause] for c in slow) if slow else 0.0
                       for cause in ("component", "streamlit", "rest")}


def report(timings: dict) -> dict:
    """Prints the table; returns the figures by "phase" or "phase tab"."""
    print(f"| Convolution page, scrub -> maps redrawn | p50 (ms) | p95 (ms) | scrubs | slower "
          f"than {GOAL_MS} ms | ... their component / Streamlit / rest of long frames, medians "
          "(ms) |\n|---|---:|---:|---:|---:|---|")
    figures = {}
    for (phase, name), scrubs in timings.items():
        label = phase if name == "this" else f"{phase} {name}"
        milliseconds = [ms for ms, _ in scrubs]
        (p50, p95), (slow, causes) = percentiles(milliseconds), slow_causes(scrubs)
        figures[label.replace(" ", "_")] = {"p50_ms": p50, "p95_ms": p95, "scrubs_ms": milliseconds,
                                            "slow": slow, "slow_causes_ms": causes}
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {len(scrubs)} | {slow} | "
              + " / ".join(f"{causes[c]:.0f}" for c in ("component", "streamlit", "rest")) + " |")
    return figures


def main(argv: list[str]) -> int:
    parser = argument_parser("scrub-training", __doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases")
    parser.add_argument("--per-phase", type=int, default=12,
                        help="scrubs per phase, round and tab (12: each change there and back)")
    parser.add_argument("--backend", default="Keras", help="training page's backend option")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout whose component JavaScript a second tab runs (A/B)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as runs, sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        versions = {"Playwright": version("playwright"), "Chromium": chromium.version}
        try:
            with browser.streamlit_server({"CNNVIZ_RUNS_DIR": runs}) as url:
                timings, batches = timed_phases(url, runs, chromium, args)
        finally:
            chromium.close()
    print(f"Machine: {machine(**versions)}; load average at the end {os.getloadavg()[0]:.1f}\n")
    figures = report(timings)
    print(f"\nBatches trained while watching: {batches['watching']} (the curve is not read in "
          "the other phases: the tab is frozen).")
    if args.json:
        print_json_line({"benchmark": "scrub-training", "machine": machine(**versions),
                         "backend": args.backend, "batches_watching": batches["watching"],
                         "baseline": str(args.baseline) if args.baseline else None,
                         **{f"{label}_{key}": value for label, values in figures.items()
                            for key, value in values.items()}})
    return 0
