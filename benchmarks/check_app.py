"""A class pressing Check on a running app, for `python -m benchmarks check` (its default mode).

Each student with a file is one Streamlit session held over the websocket (streamlit_protocol.py):
it opens the Check page, drops its file on the uploader (the browser's file_urls_request, then
the multipart PUT to /_stcore/upload_file/...), and once every student is ready, all press Check
in the same instant. The page then polls its status fragment (every 1-4 s by its place), as the
browser does, showing the file's place in the queue, and reruns the whole page when the report is
ready: a student's time is from pressing Check to the end of the run that drew the report. A
report is judged from what the page showed: a right file needs "All N cases pass" (tasks 4 and 5
count "points") and no error box; a wrong one "k of N cases pass" and a diagnosis (a warning
box); anything else (a traceback, the checker busy or failing, no report in time) is an error.
Meanwhile simulated students explore the Convolution, Pooling and Backpropagation pages
(benchmarks/students.py), timed per change.
Progress lines go to stderr while it runs (`say`); the whole run has a deadline, past which the
students still waiting count as errors and the figures are reported all the same.
"""

import asyncio
import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
from streamlit.proto.Alert_pb2 import Alert

from benchmarks.server import listening_pid, started_server
from benchmarks.streamlit_protocol import SessionLost, StreamlitSession
from benchmarks.students import LOOPBACK, Classroom, percentiles_ms, student, warm_up
from cnnviz.check import queue

REPORT_TIMEOUT = 600.0  # s from Check to the report before a student counts it as an error
PLACE = re.compile(r"place (\d+) in the queue")
PASSED = re.compile(r"(\d+) of (\d+) (?:cases|points) pass")  # tasks 4-5 count points
STOP_SECONDS = 10.0  # the explorers' time to stop once the waves are done
BUSY = queue.BUSY.split(":")[0]  # "The checker is busy"
ALERTS = {Alert.ERROR: "error", Alert.WARNING: "warning", Alert.INFO: "info",
          Alert.SUCCESS: "success"}
PROGRESS_SECONDS = 10.0  # between two progress lines while a wave is graded
STARTED = time.monotonic()


def say(message: str) -> None:
    """One progress line on stderr, with the seconds since the benchmark started (stdout keeps
    the Markdown and the JSON line)."""
    print(f"[check {time.monotonic() - STARTED:6.0f} s] {message}", file=sys.stderr, flush=True)


class CheckTab(StreamlitSession):
    """A student's tab on the Check page that reads what the page says: the alert boxes of the
    last full run, every place in the queue it showed, and when a run that drew the Report
    finished (perf_counter)."""

    def __init__(self, url: str):
        super().__init__(url, follow_auto_reruns=True)  # the status fragment's run_every
        self.alerts: list[tuple[str, str]] = []  # (kind, text) of the last full run
        self.places: list[int] = []
        self.report_at: float | None = None
        self.report_alerts: list[tuple[str, str]] = []
        self._report_drawn = False

    def _new_run(self, message) -> None:
        if not message.metadata.run.fragment_ids:
            self.alerts, self._report_drawn = [], False
        super()._new_run(message)

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "alert":
            self.alerts.append((ALERTS.get(element.alert.format, "?"), element.alert.body))
            if place := PLACE.search(element.alert.body):
                self.places.append(int(place[1]))
        elif kind == "heading" and element.heading.body == "Report":
            self._report_drawn = True
        super()._element(element, fragment_id)

    def _script_finished(self, message) -> None:
        if self._report_drawn and self.report_at is None:
            self.report_at, self.report_alerts = time.perf_counter(), list(self.alerts)
        super()._script_finished(message)


@dataclass
class Submission:
    """One student's file and what became of it."""

    name: str  # the course file name the student uploads
    data: bytes
    right: bool
    seconds: float | None = None  # Check -> report shown
    places: list[int] = field(default_factory=list)
    polls: int = 0  # the page's status polls (its fragment's auto reruns) until it closed
    problem: str = ""  # why it counts as an error ("" when the report judged the file rightly)


def misjudged(alerts: list[tuple[str, str]], right: bool) -> str:
    """Why the report's boxes do not fit the file ("" when they do)."""
    boxes = {kind: [text for k, text in alerts if k == kind] for kind in ALERTS.values()}
    counts = [PASSED.search(text) for text in boxes["error"]]
    passing = any(re.search(r"(cases|points) pass", text) for text in boxes["success"])
    if right and passing and not boxes["error"]:
        return ""
    if not right and any(counts) and int(counts[0][1]) < int(counts[0][2]) and boxes["warning"]:
        return ""
    said = "; ".join(f"{kind}: {text[:120]}" for kind, text in alerts) or "no box"
    return f"{'right' if right else 'wrong'} file judged wrongly: {said}"


async def ready(url: str, submission: Submission) -> tuple[CheckTab, object]:
    """A tab on the Check page with the file uploaded: (tab, its Check button)."""
    tab = CheckTab(url)
    await tab.open("check")
    uploader = tab.widget("Your .py file", "file_uploader")
    run = await tab.upload(uploader, submission.name, submission.data, "text/x-python")
    if run.exceptions or run.error_boxes:
        raise SessionLost(f"upload of {submission.name}: {run.exceptions + run.error_boxes}")
    return tab, tab.keyed("check_run")


async def press_check(tab: CheckTab, button, submission: Submission, until: float) -> None:
    """Press Check, wait for the report (the tab polls its status meanwhile) up to
    REPORT_TIMEOUT or the benchmark's deadline `until` (time.monotonic), judge it."""
    started = time.perf_counter()
    limit = max(0.0, min(REPORT_TIMEOUT, until - time.monotonic()))
    try:
        run = await tab.click(button)  # may already be the report's run, on a fast check
        busy = [text for kind, text in tab.alerts if kind == "warning" and BUSY in text]
        if run.exceptions or busy:
            submission.problem = f"Check refused: {run.exceptions + busy}"
            return
        deadline = started + limit
        while tab.report_at is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
    except SessionLost as lost:
        submission.problem = f"session lost: {lost}"
        return
    finally:
        submission.places = sorted(set(tab.places), reverse=True)
        submission.polls = len(tab.fragment_runs)
        await tab.close()
    if tab.report_at is None:
        submission.problem = f"no report within {limit:.0f} s"
        return
    submission.seconds = tab.report_at - started
    submission.problem = misjudged(tab.report_alerts, submission.right)


async def class_checks(url: str, submissions: list[Submission], until: float,
                       name: str = "") -> tuple[float, float]:
    """Every student opens the page and uploads, then all press Check at once, until the
    deadline `until`: (start, end) of the pressing, in the Classroom's clock (time.monotonic).
    TimeoutError when the uploads outlast the deadline."""
    say(f"{name}: {len(submissions)} students open the Check page and upload their files")
    tabs = await asyncio.wait_for(asyncio.gather(*(ready(url, s) for s in submissions)),
                                  max(until - time.monotonic(), 1.0))
    say(f"{name}: all uploaded; every student presses Check")
    start = time.monotonic()
    watching = asyncio.create_task(watch([tab for tab, _ in tabs], submissions, name))
    try:
        await asyncio.gather(*(press_check(tab, button, s, until)
                               for (tab, button), s in zip(tabs, submissions)))
    finally:
        watching.cancel()
    return start, time.monotonic()


async def watch(tabs: list[CheckTab], submissions: list[Submission], name: str) -> None:
    """A progress line every PROGRESS_SECONDS while the wave is graded: reports drawn, errors
    so far, the highest place in the queue a waiting page shows."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        drawn = sum(tab.report_at is not None for tab in tabs)
        errors = sum(bool(s.problem) for s in submissions)
        places = [tab.places[-1] for tab in tabs if tab.report_at is None and tab.places]
        say(f"{name}: {drawn}/{len(tabs)} reports after {time.monotonic() - started:.0f} s, "
            f"{errors} errors, highest place shown now {max(places, default=0)}")


def figures(submissions: list[Submission], room: Classroom, window: tuple[float, float],
            prefix: str = "") -> dict:
    """The JSON keys of one wave of checks (prefix "tf_" for task 5's): p50_s, p95_s, max_s,
    errors, last_place (the highest place in the queue a page showed), explorer_p95_ms (the
    explorers' changes while the wave was graded) and the first problems."""
    seconds = [s.seconds for s in submissions if s.seconds is not None]
    cut = percentiles_ms(seconds)
    start, end = (moment - room.start for moment in window)
    changes = [a.seconds for a in room.actions if a.kind == "change" and start <= a.at <= end]
    explorer = percentiles_ms(changes)
    return {f"{prefix}files": len(submissions),
            f"{prefix}p50_s": None if cut["p50_ms"] is None else cut["p50_ms"] / 1e3,
            f"{prefix}p95_s": None if cut["p95_ms"] is None else cut["p95_ms"] / 1e3,
            f"{prefix}max_s": max(seconds, default=None),
            f"{prefix}errors": sum(bool(s.problem) for s in submissions),
            f"{prefix}last_place": max((p for s in submissions for p in s.places), default=0),
            f"{prefix}shown_a_place": sum(bool(s.places) for s in submissions),
            f"{prefix}status_polls": sum(s.polls for s in submissions),
            f"{prefix}explorer_changes": len(changes),
            f"{prefix}explorer_p50_ms": explorer["p50_ms"],
            f"{prefix}explorer_p95_ms": explorer["p95_ms"],
            f"{prefix}first_problems": list(dict.fromkeys(s.problem for s in submissions
                                                          if s.problem))[:3]}


def cpu_seconds(before, after, prefix: str) -> dict:
    """The server process's own CPU seconds between two psutil cpu_times: its pages (the
    explorers' and the Check page's polls) and the queue's threads; not the checks' sandboxes,
    whose CPU time does not come back through bwrap's PID namespace."""
    return {f"{prefix}server_cpu_s": after.user + after.system - before.user - before.system}


async def run(url: str, waves: dict[str, list[Submission]], explorers: int,
              think: tuple[float, float], until: float, seed: int = 0) -> dict:
    """Warm the server up, let `explorers` students explore, send each wave of checks in turn
    (keys prefixed by the wave's name), then stop the explorers. `until` (time.monotonic) ends
    it all: students without a report by then count as errors, a wave not begun is all errors."""
    say("warming the server up (every explorer page, then the Check page)")
    try:
        await asyncio.wait_for(warm_up(url), max(until - time.monotonic(), 1.0))
        first = CheckTab(url)
        await asyncio.wait_for(first.open("check"), max(until - time.monotonic(), 1.0))
        await first.close()  # the Check page's imports, before the clock starts
    except TimeoutError:
        say("the time limit came during the warm-up: no wave is checked")
    room, server = Classroom(), psutil.Process(listening_pid(url))
    exploring = [asyncio.create_task(student(n, url, until, think, 5.0, seed, room))
                 for n in range(explorers)]
    say(f"{explorers} students start exploring")
    await asyncio.sleep(6.0 if explorers else 0)  # every explorer has arrived
    result = {"explorers": explorers}
    try:
        for prefix, submissions in waves.items():
            name = f"wave {prefix.rstrip('_') or 'tasks 0-3'}"
            before = server.cpu_times()
            try:
                window = await class_checks(url, submissions, until, name)
            except TimeoutError:
                window = (time.monotonic(), time.monotonic())
                for submission in submissions:
                    submission.problem = "not checked: the benchmark's time limit came first"
            result.update(figures(submissions, room, window, prefix),
                          **cpu_seconds(before, server.cpu_times(), prefix))
            said = {key: "-" if result[prefix + key] is None else f"{result[prefix + key]:.1f}"
                    for key in ("p50_s", "p95_s", "explorer_p95_ms")}
            say(f"{name} done: p50 {said['p50_s']} s, p95 {said['p95_s']} s, "
                f"{result[prefix + 'errors']} errors, explorer p95 {said['explorer_p95_ms']} ms")
    finally:
        for task in exploring:
            task.cancel()
        if exploring:  # bounded: one run hung here for minutes, an explorer deaf to its cancel
            _, deaf = await asyncio.wait(exploring, timeout=STOP_SECONDS)
            if deaf:
                say(f"{len(deaf)} explorers did not stop within {STOP_SECONDS:.0f} s: left")
    result["explorer_errors"] = (sum(len(a.exceptions) for a in room.actions)
                                 + len(room.failures) + len(room.disconnects))
    return result


@contextlib.contextmanager
def app(url: str | None, slots: int | None) -> Iterator[str]:
    """The given app on this machine, or `cnnviz app` started here (runs to a temporary folder,
    $CNNVIZ_CHECK_SLOTS from `slots` when given)."""
    if url:
        if not url.startswith(tuple(f"http://{host}:" for host in LOOPBACK)):
            raise ValueError(f"--url {url}: only an app on this machine (http://127.0.0.1:PORT)")
        listening_pid(url)  # ValueError when nothing listens there
        yield url.rstrip("/")
        return
    with tempfile.TemporaryDirectory() as runs:
        env = {"CNNVIZ_RUNS_DIR": runs, **({"CNNVIZ_CHECK_SLOTS": str(slots)} if slots else {})}
        with started_server(env) as server:
            yield server.url
