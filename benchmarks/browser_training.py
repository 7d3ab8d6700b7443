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
Prints p50/p95 per phase and the batches trained in each; --json adds one line.
"""

import itertools
import os
import signal
import statistics
import tempfile
from importlib.metadata import version
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks import browser, browser_scrub
from benchmarks.common import argument_parser, machine, print_json_line

PHASES = ("watching", "frozen", "stopped")


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


def timed_phases(url: str, runs: str, chromium, args) -> tuple[dict, dict]:
    """(scrub milliseconds, batches trained) per phase, the run started from the Training page."""
    page = browser.new_page(chromium)
    browser.open_page(page, f"{url}/convolution")
    trainer = browser.new_page(chromium)
    trainer.set_default_timeout(4 * browser.TIMEOUT_MS)  # TensorFlow's first import
    browser.start_training(trainer, url, backend=args.backend, epochs=100)
    browser.wait_for_batches(trainer, 1)
    tab, workers = trainer.context.new_cdp_session(trainer), training_workers(runs)
    if not workers:
        raise RuntimeError("the run's Ray worker was not found in /proc")
    changes = itertools.cycle(browser_scrub.PAGES["convolution"](page))
    timings, batches = {phase: [] for phase in PHASES}, dict.fromkeys(PHASES, 0)
    try:
        for _ in range(args.rounds):
            for phase in PHASES:
                set_phase(phase, tab, workers)
                seen = browser.batches_seen(trainer) if phase == "watching" else None
                timings[phase] += browser_scrub.scrub_timings(page, changes, args.per_phase)
                if seen is not None:
                    batches[phase] += browser.batches_seen(trainer) - seen
    finally:
        set_phase("watching", tab, workers)
    browser.stop_training(trainer)
    return timings, batches


def main(argv: list[str]) -> int:
    parser = argument_parser("scrub-training", __doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases")
    parser.add_argument("--per-phase", type=int, default=12,
                        help="scrubs per phase and round (12: each change there and back)")
    parser.add_argument("--backend", default="Keras", help="training page's backend option")
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
    print("| Convolution page, scrub -> maps redrawn | p50 (ms) | p95 (ms) | scrubs |")
    print("|---|---:|---:|---:|")
    figures = {}
    for phase in PHASES:
        p50, p95 = percentiles(timings[phase])
        figures[phase] = {"p50_ms": p50, "p95_ms": p95, "scrubs_ms": timings[phase]}
        print(f"| {phase} | {p50:.1f} | {p95:.1f} | {len(timings[phase])} |")
    print(f"\nBatches trained while watching: {batches['watching']} (the curve is not read in "
          "the other phases: the tab is frozen).")
    if args.json:
        print_json_line({"benchmark": "scrub-training", "machine": machine(**versions),
                         "backend": args.backend, "batches_watching": batches["watching"],
                         **{f"{phase}_{key}": value for phase, values in figures.items()
                            for key, value in values.items()}})
    return 0
