"""`python -m benchmarks classroom`: a class of simulated students on one server, no browser.

Each student is one Streamlit session held over the websocket with Streamlit's own protobuf
messages (benchmarks/streamlit_protocol.py), all in one asyncio event loop. A student opens one of
the explorer's pages, then, after a think time (uniform in --think seconds, seeded), changes one of
the controls it finds in the page's own elements (kernel preset, padding, stride, pooling mode,
digit, ...) or now and then follows the menu to another explorer page. Per change it records the
time from the rerun request to the server's script_finished, the tracebacks and st.error boxes
the run sent, and lost connections. Every second it samples the server's process tree (RSS summed,
CPU in % of one core), this process's CPU and the machine's load.

Without --url it starts `cnnviz app` on a free local port (runs in a temporary folder), or with
--replicas K `cnnviz app --replicas K` (K servers behind HAProxy), and warms it up with one
session per server over every explorer page first. --training makes a teacher session start a
training run from the Training page (its Start button, as a browser would) and keep the page
open, polling the live view as the browser does, while the class works.
--cross-check LEVELS runs Playwright browsers beside protocol sessions doing the same changes, to
check that the protocol's server times sit below the browser's control->chart times and move with
them as the class around them grows.
Loopback only; sessions and minutes are capped.
"""

import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks.common import argument_parser, machine, print_json_line
from benchmarks.server import Sample, TreeSampler, listening_pid, started_replicas, started_server
from benchmarks.streamlit_protocol import RunTimeout, SessionLost, StreamlitSession
from benchmarks.streamlit_widgets import Widget

MAX_SESSIONS, MAX_MINUTES = 200, 30
PAGES = ("convolution", "pooling", "backprop")
CONTROLS = {  # what a student plays with on each page: the widgets' labels, or how they start
    "convolution": ("Class", "Index within the class", "Filters", "Kernel size", "Padding",
                    "Stride sh", "Stride sw", "Activation", "Preset", "Output row i",
                    "Output column j", "▶ Walk the window"),
    "pooling": ("Class", "Index within the class", "Mode", "Window kh", "Window kw", "Stride sh",
                "Output row i", "Output column j"),
    "backprop": ("Class", "Index within the class", "Kernel size", "Padding", "Stride sh",
                 "Upstream gradient dZ", "Mode", "Upstream gradient dA", "Run gradient descent"),
}
PAGE_SWITCH = 0.1  # chance that a student's next action is another page of the menu
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Action:
    """One timed rerun: a page opened, a control changed, or a page followed in the menu."""

    kind: str  # "open", "change", "page"
    page: str
    control: str
    seconds: float
    exceptions: list[str]
    error_boxes: list[str]
    at: float  # seconds since the class started


@dataclass
class Classroom:
    """Everything the students and the sampler record."""

    start: float = field(default_factory=time.monotonic)
    actions: list[Action] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)  # why each session was lost
    failures: list[str] = field(default_factory=list)  # runs never finished, pages w/o controls
    timeouts: int = 0
    readings: list["Reading"] = field(default_factory=list)
    active: int = 0  # students with an open session

    def record(self, kind: str, page: str, control: str, run) -> None:
        self.actions.append(Action(kind, page, control, run.seconds, run.exceptions,
                                   run.error_boxes, time.monotonic() - self.start))


def controls(session: StreamlitSession, page: str) -> list[Widget]:
    """The page's widgets a student plays with (enabled, labelled as in CONTROLS)."""
    return [widget for widget in session.widgets.values() if not widget.disabled
            and any(widget.label.startswith(label) for label in CONTROLS[page])]


async def act(session: StreamlitSession, page: str, rng: random.Random) -> tuple[str, str, object]:
    """One student action on `page`: (kind, what, run)."""
    if rng.random() < PAGE_SWITCH:
        target = rng.choice([other for other in PAGES if other != page])
        return "page", target, await session.switch_page(target)
    choices = controls(session, page)
    if not choices:
        raise LookupError(f"no control of {CONTROLS[page]} found on the {page} page")
    widget = rng.choice(choices)
    name = widget.label.split(" (")[0]  # "Index within the class (0 to 800)": one name per control
    if widget.kind == "button":
        return "change", name, await session.click(widget)
    value = widget.another_value(session.value(widget), rng)
    return "change", name, await session.change(widget, value)


async def student(number: int, url: str, until: float, think: tuple[float, float],
                  ramp: float, seed: int, room: Classroom) -> None:
    """One student: arrive within `ramp` s, open a page, act after each think time until `until`."""
    rng = random.Random(seed * 1_000_003 + number)
    await asyncio.sleep(rng.uniform(0, ramp))
    page = PAGES[number % len(PAGES)]
    session = StreamlitSession(url)
    room.active += 1
    try:
        room.record("open", page, "", await session.open(page))
        while (pause := rng.uniform(*think)) < until - time.monotonic():
            await asyncio.sleep(pause)
            try:
                kind, what, run = await act(session, page, rng)
            except LookupError as missing:  # the page came without its controls
                room.failures.append(str(missing))
                continue
            except SessionLost as lost:  # as the browser does: reconnect to the same session
                if isinstance(lost, RunTimeout):
                    room.timeouts += 1
                    room.failures.append(str(lost))
                else:
                    room.disconnects.append(str(lost))
                await session.reconnect()
                continue
            if kind == "page":
                page = what
            room.record(kind, page, what if kind == "change" else "", run)
    except (SessionLost, OSError) as lost:  # the reconnect failed too: this student has left
        room.disconnects.append(f"left: {lost}")
    finally:
        room.active -= 1
        await session.close()


@dataclass(frozen=True)
class Reading:
    at: float  # seconds since the class started (negative before)
    students: int  # with an open session
    server: Sample
    client_cpu: float  # this process (the students), % of one core


async def sample(root: int, room: Classroom, every: float = 1.0) -> None:
    """Read the server's process tree and this process every `every` s into room.readings."""
    import psutil

    tree, me = TreeSampler(root), psutil.Process()
    me.cpu_percent(None)
    tree.sample()
    while True:
        await asyncio.sleep(every)
        room.readings.append(Reading(time.monotonic() - room.start, room.active, tree.sample(),
                                     me.cpu_percent(None)))


async def warm_up(url: str, servers: int = 1) -> None:
    """One session per server over every explorer page: imports, the dataset and caches are
    loaded before the class (the sessions are open together, so a proxy spreads them)."""
    sessions = [StreamlitSession(url) for _ in range(servers)]
    try:
        for session in sessions:
            await session.open("")
        for session in sessions:
            for page in PAGES:
                await session.switch_page(page)
    finally:
        for session in sessions:
            await session.close()


@dataclass
class Teacher:
    """The teacher's tab on the Training page: a run started with its button, watched live."""

    url: str
    backend: str  # the Backend option's label, or how it starts ("Keras", "NumPy", ...)
    session: StreamlitSession = None
    started: bool = False
    still_running: bool = False
    error: str = ""

    async def start(self, epochs: int = 100, wait: float = 180) -> None:
        """Open the page, pick the backend and epochs, press Start, wait for the first batches."""
        session = self.session = StreamlitSession(self.url, follow_auto_reruns=True)
        await session.open("training")
        backend = session.widget("Backend")
        await session.change(backend, next(option for option in backend.options
                                           if option.lower().startswith(self.backend.lower())))
        await session.change(session.widget("Epochs"), epochs)
        run = await session.click(session.keyed("train_start"))
        if run.error_boxes or run.exceptions:
            self.error = "; ".join(run.error_boxes + run.exceptions)
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and "live_batches" not in session.chart_keys:
            await asyncio.sleep(0.5)
        self.started = "live_batches" in session.chart_keys
        if not self.started:
            self.error = f"no batch within {wait:.0f} s of Start"

    async def stop(self) -> None:
        if self.session is None:
            return
        stop = self.session.keyed("train_stop")  # "Stop training", or "Leave the queue"
        self.still_running = not stop.disabled
        if self.still_running:
            await self.session.click(stop)
        await self.session.close()


# --- the run -------------------------------------------------------------------------------

@contextlib.contextmanager
def server_under_test(url: str | None, server_pid: int | None,
                      replicas: int | None = None) -> Iterator[tuple[str, int]]:
    """(url, pid of the tree to sample): the given server, or one started here (a plain
    `cnnviz app`, or `cnnviz app --replicas K` with HAProxy)."""
    if url:
        host = urlsplit(url).hostname
        if host not in LOOPBACK:
            raise ValueError(f"--url {url}: only a server on this machine (127.0.0.1) may be "
                             "loaded")
        yield url.rstrip("/"), server_pid or listening_pid(url)
        return
    with tempfile.TemporaryDirectory() as runs:
        env = {"CNNVIZ_RUNS_DIR": runs}
        start = started_server(env) if replicas is None else started_replicas(replicas, env)
        with start as server:
            yield server.url, server_pid or server.pid


async def run_class(url: str, pid: int, sessions: int, minutes: float, think, ramp: float,
                    seed: int, training: str | None, servers: int = 1) -> tuple[Classroom, dict]:
    """Warm up, (start the teacher's run,) let the class work for `minutes`, then measure."""
    await warm_up(url, servers)
    teacher = Teacher(url, training) if training else None
    room = Classroom()
    sampler = asyncio.create_task(sample(pid, room))
    if teacher:
        await teacher.start()
    await asyncio.sleep(2.5)
    baseline = room.readings[-1].server  # warm, and training if asked: before the class
    room.start = time.monotonic()
    until = room.start + minutes * 60
    await asyncio.gather(*(student(n, url, until, think, ramp, seed, room)
                           for n in range(sessions)))
    whole_class = [r.server for r in room.readings if r.students == sessions] or [baseline]
    with_class = whole_class[-1]  # the last reading with every student connected
    if teacher:
        await teacher.stop()
    await asyncio.sleep(5)
    sampler.cancel()
    extra = {"baseline_rss_mb": baseline.rss_mb, "rss_with_class_mb": with_class.rss_mb,
             "rss_after_leave_mb": room.readings[-1].server.rss_mb,
             "server_rss_mb": with_class.server_rss_mb,
             "rss_per_session_mb": (with_class.server_rss_mb - baseline.server_rss_mb) / sessions}
    if teacher:
        polls = teacher.session.fragment_runs
        extra["training"] = {"backend": training, "started": teacher.started,
                             "running_at_end": teacher.still_running, "error": teacher.error,
                             "polls": len(polls), **percentiles_ms(polls, "poll_")}
    return room, extra


def percentiles_ms(seconds: list[float], prefix: str = "") -> dict:
    """{prefix + "p50_ms": median, prefix + "p95_ms": 95th percentile} of seconds, in ms."""
    if not seconds:
        return {f"{prefix}p50_ms": None, f"{prefix}p95_ms": None}
    if len(seconds) == 1:
        return {f"{prefix}p50_ms": seconds[0] * 1e3, f"{prefix}p95_ms": seconds[0] * 1e3}
    cut = statistics.quantiles(seconds, n=20, method="inclusive")[18]
    return {f"{prefix}p50_ms": statistics.median(seconds) * 1e3, f"{prefix}p95_ms": cut * 1e3}


def figures(room: Classroom, sessions: int, minutes: float, extra: dict) -> dict:
    """The JSON line's figures from what the class recorded."""
    changes = [a for a in room.actions if a.kind == "change"]
    seconds = [a.seconds for a in changes]
    exceptions = [text for a in room.actions for text in a.exceptions]
    boxes = [text for a in room.actions for text in a.error_boxes]
    busy = [r for r in room.readings if r.students > 0]
    result = {
        "sessions": sessions, "minutes": minutes, "changes": len(changes),
        **percentiles_ms(seconds),
        "max_ms": max(seconds, default=0) * 1e3,
        "over_1s": sum(s > 1 for s in seconds),
        "errors": len(exceptions) + len(room.failures), "exceptions": len(exceptions),
        "timeouts": room.timeouts, "error_boxes": len(boxes),
        "disconnects": len(room.disconnects),
        "peak_rss_mb": max((r.server.rss_mb for r in room.readings), default=0.0), **extra,
        "cpu_percent": _mean(r.server.cpu for r in busy),
        "server_cpu_percent": _mean(r.server.server_cpu for r in busy),
        "client_cpu_percent": _mean(r.client_cpu for r in busy),
        # CPU the server process spent per change: what one change costs, whoever shares the cores
        "server_cpu_ms_per_change": _mean(r.server.server_cpu for r in busy) * 10 * len(busy)
        / max(len(changes), 1),
        "changes_per_s": len(changes) / (minutes * 60),
        "opens": percentiles_ms([a.seconds for a in room.actions if a.kind == "open"]),
        "page_switches": percentiles_ms([a.seconds for a in room.actions if a.kind == "page"]),
        "pages": {page: {"changes": sum(a.page == page for a in changes),
                         **percentiles_ms([a.seconds for a in changes if a.page == page])}
                  for page in PAGES},
        "slowest_controls": _slowest_controls(changes),
        "first_errors": list(dict.fromkeys(exceptions + room.failures + boxes
                                           + room.disconnects))[:5],
    }
    return result


def _mean(values) -> float:
    values = list(values)
    return statistics.fmean(values) if values else 0.0


def _slowest_controls(changes: list[Action], count: int = 5, at_least: int = 5) -> dict:
    """The `count` controls with the highest median time among those changed `at_least` times:
    {"page: label": p50 ms}."""
    by_control: dict[str, list[float]] = {}
    for action in changes:
        by_control.setdefault(f"{action.page}: {action.control}", []).append(action.seconds)
    medians = {name: statistics.median(s) * 1e3 for name, s in by_control.items()
               if len(s) >= at_least}
    return dict(sorted(medians.items(), key=lambda item: -item[1])[:count])


def report(result: dict, machine_line: str, load: tuple[float, float]) -> None:
    """The Markdown for BENCHMARKS.md."""
    print(f"Machine: {machine_line}; load average {load[0]:.1f} before, {load[1]:.1f} after\n")
    print("| students | training | changes/s | p50 (ms) | p95 (ms) | > 1 s | errors | error boxes "
          "| disconnects | peak tree RSS (MiB) | server RSS/student (MiB) | server CPU % "
          "| server CPU ms/change | tree CPU % | client CPU % |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    r = result
    training = r["training"]["backend"] if "training" in r else "no"
    print(f"| {r['sessions']} | {training} | {r['changes_per_s']:.1f} | {_ms(r['p50_ms'])} "
          f"| {_ms(r['p95_ms'])} | {r['over_1s']} | {r['errors']} | {r['error_boxes']} "
          f"| {r['disconnects']} | {r['peak_rss_mb']:.0f} | {r['rss_per_session_mb']:.2f} "
          f"| {r['server_cpu_percent']:.0f} | {r['server_cpu_ms_per_change']:.0f} "
          f"| {r['cpu_percent']:.0f} "
          f"| {r['client_cpu_percent']:.0f} |")
    print(f"\n{r['changes']} changes in {r['minutes']:g} min.", end=" ")
    pages = ", ".join(f"{name} {_ms(p['p50_ms'])}/{_ms(p['p95_ms'])} ms ({p['changes']})"
                      for name, p in r["pages"].items())
    print(f"Per page p50/p95 (changes): {pages}. Opening a page: p50/p95 "
          f"{_ms(r['opens']['p50_ms'])}/{_ms(r['opens']['p95_ms'])} ms; following the menu: "
          f"{_ms(r['page_switches']['p50_ms'])}/{_ms(r['page_switches']['p95_ms'])} ms.")
    print("Slowest controls (p50 ms): " + ", ".join(f"{name} {ms:.0f}"
                                                   for name, ms in r["slowest_controls"].items()))
    print(f"Memory of the tree: {r['baseline_rss_mb']:.0f} MiB before the class, "
          f"{r['rss_with_class_mb']:.0f} MiB with it (the server process "
          f"{r['server_rss_mb']:.0f} MiB), {r['rss_after_leave_mb']:.0f} MiB 5 s after it left "
          "(Streamlit keeps a closed session for server.disconnectedSessionTTL).")
    if "training" in r:
        t = r["training"]
        print(f"Training ({t['backend']}): started {t['started']}, still running at the end "
              f"{t['running_at_end']}; the teacher's live view polled {t['polls']} times, p50/p95 "
              f"{_ms(t['poll_p50_ms'])}/{_ms(t['poll_p95_ms'])} ms. {t['error']}")
    if r["first_errors"]:
        print("First errors: " + " | ".join(r["first_errors"]))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def parse_args(argv: list[str]):
    parser = argument_parser("classroom", __doc__)
    parser.add_argument("--sessions", type=int, default=10, help=f"students (1..{MAX_SESSIONS})")
    parser.add_argument("--minutes", type=float, default=1.0,
                        help=f"how long the class works (up to {MAX_MINUTES})")
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--replicas", type=int, metavar="K",
                        help="without --url: start `cnnviz app --replicas K` (K servers behind "
                             "HAProxy) instead of one plain server")
    parser.add_argument("--server-pid", type=int,
                        help="root of the process tree to sample (default: the server started, "
                             "or the process listening on --url's port)")
    parser.add_argument("--training", nargs="?", const="Keras", metavar="BACKEND",
                        help="a teacher starts one training run from the Training page first "
                             "(BACKEND: the Backend option's label or its start; default Keras)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="a student's think time between actions, uniform (s)")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="students arrive spread over this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cross-check", metavar="LEVELS",
                        help="compare with Playwright instead: e.g. 0,10,20 students around "
                             "3 browsers and 3 protocol sessions (see benchmarks/cross_check.py)")
    parser.add_argument("--changes", type=int, default=12,
                        help="--cross-check: timed changes per browser and per protocol session")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions {args.sessions}: give 1 to {MAX_SESSIONS}")
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes {args.minutes}: give more than 0 and at most {MAX_MINUTES}")
    if args.replicas is not None and not 1 <= args.replicas <= 8:
        parser.error(f"--replicas {args.replicas}: give 1 to 8")
    if not 0 < args.think[0] <= args.think[1]:
        parser.error(f"--think {args.think}: give 0 < MIN <= MAX")
    return args


def main(argv: list[str]) -> int:
    import os

    import streamlit

    args = parse_args(argv)
    if args.cross_check:
        from benchmarks import cross_check

        return cross_check.main(args)
    load_before = os.getloadavg()[0]
    with server_under_test(args.url, args.server_pid, args.replicas) as (url, pid):
        room, extra = asyncio.run(run_class(url, pid, args.sessions, args.minutes,
                                            tuple(args.think), args.ramp, args.seed,
                                            args.training, args.replicas or 1))
    result = figures(room, args.sessions, args.minutes, extra)
    result["load_average"] = (load_before, os.getloadavg()[0])
    result["replicas"] = args.replicas
    machine_line = machine(Streamlit=streamlit.__version__)
    report(result, machine_line, result["load_average"])
    if args.json:
        print_json_line({"benchmark": "classroom", "machine": machine_line, **result})
    return 0
