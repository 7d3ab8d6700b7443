"""`python -m benchmarks check --students 30`: a class pressing Check at once.

Library level, not through a running app: each student's file (tasks 0 to 3, right and wrong in
turn: the course reference of tests/fixtures/course, or it with one known mistake) is submitted
at the same instant to one grading queue (cnnviz.check.queue, the page's: its slots, its
waiting list, the sandbox, SERVER_OPTIONS), and the time from submission to the report is
measured per student. Meanwhile the server's own thread computes the Convolution page's
convolution over and over (`explorer_p95_ms`): a stand-in, in this process, for how the
explorer's pages fare while the slots grade. A report that misjudges its file (a right file
not passing, a wrong one passing or undiagnosed) counts as an error.
"""

import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, machine, print_json_line
from cnnviz.check import queue, sandbox, solution
from cnnviz.check.cases import COURSE_FILES
from cnnviz.nn import ops

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "course"
MISTAKES = {  # task -> (a line of the reference, its mistaken version)
    "conv_forward": ("window * W[:, :, :, k]", "window * W[::-1, ::-1, :, k]"),
    "pool_forward": ("j * sw:j * sw + kw", "j:j + kw"),
    "conv_backward": ("np.sum(padded[:, rows, cols, :] * dz, axis=0)",
                      "np.mean(padded[:, rows, cols, :] * dz, axis=0)"),
    "pool_backward": ("dA_prev[:, rows, cols, :] += mask * upstream",
                      "dA_prev[:, rows, cols, :] = mask * upstream"),
}
MAX_STUDENTS = queue.MAX_WAITING


def student_file(n: int) -> tuple[str, str, bool]:
    """Student n's (task, source, right): the four tasks in turn, every other round wrong."""
    task = list(COURSE_FILES)[n % len(COURSE_FILES)]
    source = (FIXTURES / COURSE_FILES[task]).read_text()
    right = (n // len(COURSE_FILES)) % 2 == 0
    if not right:
        line, mistaken = MISTAKES[task]
        assert line in source, f"{COURSE_FILES[task]} changed: update MISTAKES"
        source = source.replace(line, mistaken)
    return task, source, right


def misjudged(reports, right: bool) -> bool:
    (report,) = reports
    if not report.results:
        return True
    passed = solution.passed(report) == len(report.results)
    return passed != right or (not right and not report.summary)


def explorer_times(stop: threading.Event) -> list[float]:
    """Seconds per Convolution page computation (a 28x28 digit, 3x3 kernel, 'same') until
    `stop`."""
    rng = np.random.default_rng(0)
    x, W, b = rng.random((1, 28, 28, 1)), rng.standard_normal((3, 3, 1, 1)), np.zeros((1, 1, 1, 1))
    times = []
    while not stop.is_set():
        started = time.perf_counter()
        ops.conv_forward(x, W, b, "relu", "same", (1, 1))
        times.append(time.perf_counter() - started)
        time.sleep(0.05)  # a student's click, not a busy loop
    return times


def run(students: int, slots: int | None) -> dict:
    checks = queue.CheckQueue(slots=slots)
    files = [student_file(n) for n in range(students)]
    finished: dict[int, float] = {}

    def work(n: int, task: str, source: str):
        reports = queue.check_in_sandbox(COURSE_FILES[task], source, [task])
        finished[n] = time.monotonic()
        return reports

    stop, explorer = threading.Event(), []
    watcher = threading.Thread(target=lambda: explorer.extend(explorer_times(stop)))
    watcher.start()
    started = time.monotonic()
    tickets = [checks.submit(lambda n=n, t=t, s=s: work(n, t, s))
               for n, (t, s, _) in enumerate(files)]
    places = [ticket.place for ticket in tickets]
    for ticket in tickets:
        ticket.wait()
    stop.set()
    watcher.join()
    seconds = [finished[n] - started for n in sorted(finished)]
    errors = sum(ticket.error is not None or misjudged(ticket.result, right)
                 for ticket, (_, _, right) in zip(tickets, files))
    return {"students": students, "slots": checks.slots, "last_place": max(places),
            "p50_s": float(np.percentile(seconds, 50)) if seconds else None,
            "p95_s": float(np.percentile(seconds, 95)) if seconds else None,
            "max_s": max(seconds, default=None), "errors": errors,
            "explorer_p95_ms": float(np.percentile(explorer, 95) * 1000) if explorer else None,
            "level": "library"}


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("check", __doc__.splitlines()[0].strip("`"))
    parser.add_argument("--students", type=int, default=30,
                        help=f"files submitted at once (1 to {MAX_STUDENTS}, default 30)")
    parser.add_argument("--slots", type=int, default=None,
                        help=f"grading slots (default: ${queue.SLOTS_ENV}, else cores - 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.students <= MAX_STUDENTS or (args.slots is not None and args.slots < 1):
        parser.error(f"--students must be 1 to {MAX_STUDENTS} and --slots at least 1")
    ok, reason = sandbox.available()
    if not ok:
        print(f"The sandbox cannot start here: {reason}")
        return 2
    load = Path("/proc/loadavg").read_text().split()[0]
    figures = run(args.students, args.slots)
    print(f"Machine: {machine()}; load average {load} before\n")
    print("| students | slots | p50 to report (s) | p95 (s) | last (s) | errors "
          "| explorer p95 (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {figures['students']} | {figures['slots']} | {figures['p50_s']:.1f} "
          f"| {figures['p95_s']:.1f} | {figures['max_s']:.1f} | {figures['errors']} "
          f"| {figures['explorer_p95_ms']:.1f} |")
    if args.json:
        print_json_line(figures)
    return 0 if figures["errors"] == 0 else 1
