"""A class of simulated students and what it measures, for `python -m benchmarks classroom` and
its cross-check against browsers (cross_check.py).

Each student is one Streamlit session held over the websocket (streamlit_protocol.py), all in one
asyncio event loop: it opens one of the explorer's pages, then after a think time changes one of
the controls it finds in the page's own elements, or now and then follows the menu to another
page; every change, error box, traceback and lost connection is recorded in a Classroom. A
teacher can start a training run, keep polling it and start it again when it ends; the server's
process tree is sampled every second. `figures` turns a Classroom into the benchmark's figures.
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

from benchmarks.server import Sample, TreeSampler, listening_pid, started_replicas, started_server
from benchmarks.streamlit_protocol import RunTimeout, SessionLost, StreamlitSession
from benchmarks.streamlit_widgets import Widget

MAX_SESSIONS, MAX_MINUTES = 200, 120  # a lesson: one or two hours
PAGES = ("convolution", "pooling", "backprop")
CONTROLS = {  # what a student plays with on each page: the widgets' labels, or how they start
    # ("scrub conv", "scrub pool": the scrub component, one settle per change)
    "convolution": ("Class", "Index within the class", "Filters", "Kernel size", "scrub conv"),
    "pooling": ("Class", "Index within the class", "scrub pool"),
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
                  ramp: float, seed: int, room: Classroom,
                  new_session=StreamlitSession) -> None:
    """One student: arrive within `ramp` s, open a page, act after each think time until `until`.
    `new_session(url)` makes the student's tab (teacher.py's lesson: one that also answers)."""
    rng = random.Random(seed * 1_000_003 + number)
    await asyncio.sleep(rng.uniform(0, ramp))
    page = PAGES[number % len(PAGES)]
    session = new_session(url)
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
                    room.failures.append(f"{page}: {lost}")
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
    runs: int = 0  # runs started: one, then one more each time the last ended in the lesson

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
        self.runs += 1
        if not self.started:
            self.error = f"no batch within {wait:.0f} s of Start"

    async def keep_training(self, until: float, every: float = 5.0) -> None:
        """Press Start again each time the run ended, till `until`: a run trains all lesson
        long, not only the first minutes (same backend and epochs, kept by the page)."""
        while self.started and not self.error and time.monotonic() + every < until:
            await asyncio.sleep(every)
            try:
                start = self.session.keyed("train_start")
            except LookupError:  # caught mid-draw: a full run of the page (the run's end, its
                continue  # results) has begun and not yet drawn the button; it comes back
            if start.disabled:
                continue
            run = await self.session.click(start)
            self.runs += 1
            if run.error_boxes or run.exceptions:
                self.error = "; ".join(run.error_boxes + run.exceptions)

    async def stop(self) -> None:
        if self.session is None:
            return
        for _ in range(20):  # a page caught mid-draw gets its buttons back within seconds
            with contextlib.suppress(LookupError):
                stop = self.session.keyed("train_stop")  # "Stop training", or "Leave the queue"
                break
            await asyncio.sleep(0.5)
        else:
            stop = self.session.keyed("train_stop")  # still missing: say so
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
                    seed: int, training: str | None, servers: int = 1,
                    lesson=None) -> tuple[Classroom, dict]:
    """Warm up, (start the teacher's run,) let the class work for `minutes`, then measure.
    `lesson` (teacher.py's Lesson): the teacher leads it meanwhile, in its students' tabs."""
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
    new_session = lesson.student_session if lesson else StreamlitSession
    await asyncio.gather(*(student(n, url, until, think, ramp, seed, room, new_session)
                           for n in range(sessions)),
                         *([lesson.run(url, room.start, until)] if lesson else []),
                         *([teacher.keep_training(until)] if teacher else []))
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
                             "runs": teacher.runs,
                             "polls": len(polls), **percentiles_ms(polls, "poll_")}
    if lesson:
        extra.update(lesson.figures())
        room.failures += lesson.errors()
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
