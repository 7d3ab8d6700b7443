"""`python -m benchmarks classroom --cross-check LEVELS`: the protocol client against a browser.

At each level (a number of simulated students working in the background), three chromium pages
(Playwright, Debian's /usr/bin/chromium) and three protocol sessions, all on the convolution page,
make the browser benchmark's cycle of changes (stride sh 2, padding same, stride sh 1, padding
valid, in the scrub component) in pairs: a browser makes a change, then its protocol twin sends
the same settle, so both are timed under the same load. The browser's time runs from the key press
or pick to the server's text below the component redrawn (browser_latency.timed_change); the
protocol's from the settle to the step chart's delta arriving (and, reported beside it, to
script_finished: the rest of the page script runs after that chart). The protocol's times to the
chart should sit below the browser's (which add the settle, decoding and drawing) and move with
them: the paired
times' rank correlation says how much (the class around them and the machine's other load move
both).
"""

import asyncio
import itertools
import json
import os
import statistics
import threading
import time

from benchmarks import browser
from benchmarks.browser_latency import convolution_changes, timed_change
from benchmarks.common import machine, print_json_line
from benchmarks.streamlit_protocol import StreamlitSession
from benchmarks.students import Classroom, percentiles_ms, server_under_test, student, warm_up

SESSIONS = 3  # browsers, and protocol sessions beside them
CYCLE = [{"stride": [2, 1]}, {"padding": "same"}, {"stride": [1, 1]}, {"padding": "valid"}]


async def open_twins(url: str) -> list[StreamlitSession]:
    twins = [StreamlitSession(url) for _ in range(SESSIONS)]
    for twin in twins:
        await twin.open("convolution")
    return twins


async def close_all(sessions: list[StreamlitSession]) -> None:
    await asyncio.gather(*(session.close() for session in sessions))


async def twin_change(twin: StreamlitSession, step: int) -> tuple[float, float]:
    """Seconds from the twin's change number `step` of CYCLE to the output chart's delta, and to
    script_finished."""
    scrub = twin.widget("scrub conv", "component")  # the settle the browser's component sends
    settings = {**json.loads(scrub.data)["settings"], **CYCLE[step % len(CYCLE)]}
    run = await twin.change(scrub, settings)
    return run.chart_seconds.get("step", run.seconds), run.seconds


async def background_class(url: str, sessions: int, think, seed: int, room: Classroom) -> None:
    """`sessions` students working until cancelled."""
    forever = time.monotonic() + 24 * 3600
    await asyncio.gather(*(student(n, url, forever, think, 5.0, seed, room)
                           for n in range(sessions)))


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of paired values (ties ranked by order)."""
    def ranks(values):
        order = sorted(range(len(values)), key=values.__getitem__)
        ranked = [0] * len(values)
        for rank, index in enumerate(order):
            ranked[index] = rank
        return ranked

    return statistics.correlation(ranks(a), ranks(b))


def main(args) -> int:
    from importlib.metadata import version

    import streamlit
    from playwright.sync_api import sync_playwright

    levels = [int(level) for level in args.cross_check.split(",")]
    if any(not 0 <= level <= 200 for level in levels):
        raise ValueError(f"--cross-check {args.cross_check}: give students per level, 0 to 200")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def run(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    rows, pairs, load_before = [], [], os.getloadavg()[0]
    with server_under_test(args.url, args.server_pid) as (url, _), sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        try:
            run(warm_up(url)).result()
            pages = [browser.new_page(chromium) for _ in range(SESSIONS)]
            for page in pages:
                browser.open_page(page, f"{url}/convolution")
            twins = run(open_twins(url)).result()
            cycles = [itertools.cycle(convolution_changes(page)) for page in pages]
            for level in levels:
                room = Classroom()
                background = run(background_class(url, level, tuple(args.think), args.seed, room))
                time.sleep(6.0 if level else 0.0)  # the class has arrived (ramp 5 s)
                seen, twinned, finished = [], [], []
                for step in range(args.changes):
                    for page, cycle, twin in zip(pages, cycles, twins):
                        seen.append(timed_change(page, None, next(cycle)[1]).total_ms / 1e3)
                        browser.wait_for_app(page, settle_ms=0)
                        to_chart, to_finish = run(twin_change(twin, step)).result()
                        twinned.append(to_chart)
                        finished.append(to_finish)
                background.cancel()
                pairs += zip(seen, twinned)
                around = [a.seconds for a in room.actions if a.kind == "change"]
                rows.append({"students_around": level, "load_average": os.getloadavg()[0],
                             **percentiles_ms(seen, "browser_"),
                             **percentiles_ms(twinned, "protocol_"),
                             **percentiles_ms(finished, "protocol_finished_"),
                             **percentiles_ms(around, "class_"), "class_changes": len(around),
                             "protocol_below_share": statistics.fmean(
                                 t < s for s, t in zip(seen, twinned))})
                time.sleep(2.0)
            run(close_all(twins)).result()
        finally:
            chromium_version = chromium.version
            chromium.close()
    loop.call_soon_threadsafe(loop.stop)
    below = statistics.fmean(t < s for s, t in pairs)
    correlation = rank_correlation(*map(list, zip(*pairs)))
    machine_line = machine(Streamlit=streamlit.__version__, Playwright=version("playwright"),
                           Chromium=chromium_version)
    print(f"Machine: {machine_line}; load average {load_before:.1f} before\n")
    print("| students around | browser: change -> chart redrawn, p50 / p95 (ms) "
          "| protocol: change -> chart's delta | protocol below browser "
          "| protocol: change -> script_finished | class: -> script_finished | load average |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['students_around']} | {r['browser_p50_ms']:.0f} / {r['browser_p95_ms']:.0f} "
              f"| {r['protocol_p50_ms']:.0f} / {r['protocol_p95_ms']:.0f} "
              f"| {r['protocol_below_share']:.0%} of pairs "
              f"| {r['protocol_finished_p50_ms']:.0f} / {r['protocol_finished_p95_ms']:.0f} "
              f"| {_or_dash(r['class_p50_ms'])} / {_or_dash(r['class_p95_ms'])} "
              f"| {r['load_average']:.1f} |")
    print(f"\n{SESSIONS} browsers, each followed by its protocol twin making the same change, "
          f"{args.changes} changes each per level. Protocol below browser in {below:.0%} of "
          f"{len(pairs)} pairs; rank correlation of the paired times {correlation:.2f}.")
    if args.json:
        print_json_line({"benchmark": "classroom-cross-check", "machine": machine_line,
                         "levels": rows, "protocol_below_share": below,
                         "rank_correlation": correlation, "pairs": len(pairs)})
    return 0


def _or_dash(value):
    return "-" if value is None else f"{value:.0f}"
