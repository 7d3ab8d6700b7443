"""`python -m benchmarks classroom --cross-check LEVELS`: the protocol client against a browser.

At each level (a number of simulated students working in the background), three chromium pages
(Playwright, Debian's /usr/bin/chromium) and three protocol sessions make the same control changes
on the convolution page at the same time: the browser benchmark's cycle (stride sh 2, padding
same, stride sh 1, padding valid). The browser's time runs from the key press or click to the
output chart redrawn with new data (benchmarks/browser.changed_chart); the protocol's from the
rerun request to script_finished. The protocol's times should sit below the browser's at every
level (the browser adds the widget's debounce, decoding and drawing) and grow with them.
"""

import asyncio
import itertools
import os
import random
import threading
import time

from benchmarks import browser
from benchmarks.browser_latency import convolution_changes
from benchmarks.classroom import Classroom, percentiles_ms, server_under_test, student, warm_up
from benchmarks.common import machine, print_json_line
from benchmarks.streamlit_protocol import StreamlitSession

SESSIONS = 3  # browsers, and protocol sessions beside them
CYCLE = [("Stride sh", 2), ("Padding", "same"), ("Stride sh", 1), ("Padding", "valid")]


async def protocol_changes(url: str, changes: int, think: tuple[float, float], seed: int):
    """Seconds of `changes` changes (CYCLE, in turn) in each of SESSIONS protocol sessions."""
    async def one(number: int) -> list[float]:
        rng, session = random.Random(seed + number), StreamlitSession(url)
        await session.open("convolution")
        seconds = []
        try:
            for label, value in itertools.islice(itertools.cycle(CYCLE), changes):
                await asyncio.sleep(rng.uniform(*think))
                seconds.append((await session.change(session.widget(label), value)).seconds)
        finally:
            await session.close()
        return seconds

    return [s for seconds in await asyncio.gather(*map(one, range(SESSIONS))) for s in seconds]


async def background_class(url: str, sessions: int, think, seed: int, room: Classroom) -> None:
    """`sessions` students working until cancelled."""
    forever = time.monotonic() + 24 * 3600
    await asyncio.gather(*(student(n, url, forever, think, 5.0, seed, room)
                           for n in range(sessions)))


def browser_changes(pages, changes: int) -> list[float]:
    """Seconds of `changes` changes in each page, the pages taking turns."""
    cycles = [itertools.cycle(convolution_changes(page)) for page in pages]
    seconds = []
    for _ in range(changes):
        for page, cycle in zip(pages, cycles):
            _, change = next(cycle)
            seconds.append(browser.changed_chart(page, "outputs", change))
            browser.wait_for_app(page, settle_ms=0)
    return seconds


def main(args) -> int:
    from importlib.metadata import version

    import streamlit
    from playwright.sync_api import sync_playwright

    levels = [int(level) for level in args.cross_check.split(",")]
    if any(not 0 <= level <= 200 for level in levels):
        raise ValueError(f"--cross-check {args.cross_check}: give students per level, 0 to 200")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    rows, load_before = [], os.getloadavg()[0]
    with server_under_test(args.url, args.server_pid) as (url, _), sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        try:
            run(warm_up(url)).result()
            pages = [browser.new_page(chromium) for _ in range(SESSIONS)]
            for page in pages:
                browser.open_page(page, f"{url}/convolution")
            for level in levels:
                room = Classroom()
                background = run(background_class(url, level, tuple(args.think), args.seed, room))
                time.sleep(6.0 if level else 0.0)  # the class has arrived (ramp 5 s)
                probes = run(protocol_changes(url, args.changes, tuple(args.think), args.seed))
                seen = browser_changes(pages, args.changes)
                protocol = probes.result()
                background.cancel()
                around = [a.seconds for a in room.actions if a.kind == "change"]
                rows.append({"students_around": level, "load_average": os.getloadavg()[0],
                             **percentiles_ms(seen, "browser_"),
                             **percentiles_ms(protocol, "protocol_"),
                             **percentiles_ms(around, "class_"), "class_changes": len(around)})
                time.sleep(2.0)
        finally:
            chromium_version = chromium.version
            chromium.close()
    loop.call_soon_threadsafe(loop.stop)
    below = all(r["protocol_p50_ms"] < r["browser_p50_ms"] and
                r["protocol_p95_ms"] < r["browser_p95_ms"] for r in rows)
    browser_trend = [r["browser_p50_ms"] for r in rows]
    protocol_trend = [r["protocol_p50_ms"] for r in rows]
    moves = len(rows) > 1 and _same_order(browser_trend, protocol_trend)
    machine_line = machine(Streamlit=streamlit.__version__, Playwright=version("playwright"),
                           Chromium=chromium_version)
    print(f"Machine: {machine_line}; load average {load_before:.1f} before\n")
    print("| students around | browser p50 / p95 (ms) | protocol p50 / p95 (ms) "
          "| class p50 / p95 (ms) | load average |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['students_around']} | {r['browser_p50_ms']:.0f} / {r['browser_p95_ms']:.0f} "
              f"| {r['protocol_p50_ms']:.0f} / {r['protocol_p95_ms']:.0f} "
              f"| {_or_dash(r['class_p50_ms'])} / {_or_dash(r['class_p95_ms'])} "
              f"| {r['load_average']:.1f} |")
    print(f"\n{SESSIONS} browsers and {SESSIONS} protocol sessions, {args.changes} changes each "
          f"per level. Protocol below browser at every level (p50 and p95): {below}; the two p50s "
          f"rise and fall together from level to level: {moves}.")
    if args.json:
        print_json_line({"benchmark": "classroom-cross-check", "machine": machine_line,
                         "levels": rows, "protocol_below_browser": below,
                         "moves_with_browser": moves})
    return 0


def _same_order(a: list[float], b: list[float]) -> bool:
    """Whether every step from one level to the next goes the same way in a and in b."""
    return all((a1 - a0) * (b1 - b0) > 0 for a0, a1, b0, b1 in zip(a, a[1:], b, b[1:]))


def _or_dash(value):
    return "-" if value is None else f"{value:.0f}"

