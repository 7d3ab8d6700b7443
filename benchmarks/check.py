"""`python -m benchmarks check --students 30`: a class pressing Check at once.

Each student's file (tasks 0 to 3, right and wrong in turn: the course reference of
tests/fixtures/course, or it with one known mistake) is checked, all pressed at the same
instant, and the time from pressing Check to the report is measured per student. A report that
misjudges its file (a right file not passing, a wrong one passing or undiagnosed) counts as an
error.

By default through a running app (benchmarks/check_app.py): each student uploads its file on the
Check page over Streamlit's protocol and presses Check; the page shows its place in the queue,
then the report. Simulated students explore meanwhile (`explorer_p95_ms`: their changes, request
to script_finished). Then a second wave: --tf task 5 (Keras) files, half right, half with one
known mistake, pressed at once (keys `tf_...`; --tf 0 skips it). Progress lines go to stderr
while it runs; --minutes bounds the whole run (checks without a report by then are errors, and
the figures, the JSON line included, are printed all the same).

--library: no app; the files go straight to a grading queue in this process (cnnviz.check.queue,
the page's: its slots, its waiting list, the sandbox, SERVER_OPTIONS), and this process's own
thread computes the Convolution page's convolution over and over (`explorer_p95_ms`): a
stand-in for how the explorer's pages fare while the slots grade.
"""

import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import argument_parser, machine, print_json_line
from benchmarks.students import MAX_SESSIONS
from cnnviz.check import queue, sandbox, solution
from cnnviz.check.cases import COURSE_FILES
from cnnviz.nn import ops

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "course"
MISTAKES = {  # tasks 0 to 3 -> (a line of the reference, its mistaken version)
    "conv_forward": ("window * W[:, :, :, k]", "window * W[::-1, ::-1, :, k]"),
    "pool_forward": ("j * sw:j * sw + kw", "j:j + kw"),
    "conv_backward": ("np.sum(padded[:, rows, cols, :] * dz, axis=0)",
                      "np.mean(padded[:, rows, cols, :] * dz, axis=0)"),
    "pool_backward": ("dA_prev[:, rows, cols, :] += mask * upstream",
                      "dA_prev[:, rows, cols, :] = mask * upstream"),
}
KERAS_MISTAKES = ("valid_conv1", "missing_relu", "pool_stride1", "no_softmax", "sgd")
MAX_STUDENTS = queue.MAX_WAITING


def student_file(n: int) -> tuple[str, str, bool]:
    """Student n's (task, source, right): the four tasks in turn, every other round wrong."""
    task = list(MISTAKES)[n % len(MISTAKES)]
    source = (FIXTURES / COURSE_FILES[task]).read_text()
    right = (n // len(MISTAKES)) % 2 == 0
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


def keras_file(n: int) -> tuple[str, bytes, bool]:
    """Task 5's student n: (file name, source, right): the reference, then a known mistake, in
    turn (tests/fixtures/course/5-lenet5-*.py, each diagnosed by cnnviz check)."""
    if n % 2 == 0:
        return "5-lenet5.py", (FIXTURES / "5-lenet5.py").read_bytes(), True
    mistake = KERAS_MISTAKES[(n // 2) % len(KERAS_MISTAKES)]
    return "5-lenet5.py", (FIXTURES / f"5-lenet5-{mistake}.py").read_bytes(), False


def through_the_app(args) -> dict:
    """The default mode: a running app's Check page, driven over Streamlit's protocol."""
    import asyncio

    from benchmarks import check_app

    waves = {"": [check_app.Submission(COURSE_FILES[task], source.encode(), right)
                  for task, source, right in map(student_file, range(args.students))]}
    if args.tf:
        waves["tf_"] = [check_app.Submission(*keras_file(n)) for n in range(args.tf)]
    until = time.monotonic() + args.minutes * 60
    check_app.say(f"starting the app ({len(waves)} waves: {args.students} files of tasks 0-3"
                  f"{f', then {args.tf} of task 5' if args.tf else ''}; at most "
                  f"{args.minutes:g} min)")
    with check_app.app(args.url, args.slots) as url:
        figures = asyncio.run(check_app.run(url, waves, args.explorers, tuple(args.think),
                                            until))
    slots = args.slots or ("the server's" if args.url else queue.default_slots())
    return {"students": args.students, "slots": slots, **figures,
            "level": "app"}


def report(figures: dict, load: str) -> None:
    """The Markdown for BENCHMARKS.md."""
    print(f"Machine: {machine()}; load average {load} before\n")
    print("| files | level | slots | p50 to report (s) | p95 (s) | last (s) | errors "
          "| last place shown | explorer p95 (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for prefix, files in (("", "tasks 0-3"), ("tf_", "task 5 (Keras)")):
        if figures.get(f"{prefix}p50_s") is None:
            continue
        f = {key.removeprefix(prefix): value for key, value in figures.items()
             if key.startswith(prefix)}
        explorer = f.get("explorer_p95_ms")
        print(f"| {f.get('files', figures['students'])} × {files} | {figures['level']} "
              f"| {figures['slots']} | {f['p50_s']:.1f} | {f['p95_s']:.1f} | {f['max_s']:.1f} "
              f"| {f['errors']} | {f['last_place']} "
              f"| {'-' if explorer is None else f'{explorer:.1f}'} |")
    if figures["level"] == "app":
        print(f"\n{figures['explorers']} students explored meanwhile "
              f"({figures['explorer_changes']} + {figures.get('tf_explorer_changes', 0)} changes "
              f"timed; {figures['explorer_errors']} errors); while the tasks 0-3 wave was graded, "
              f"its pages polled their status {figures['status_polls']} times and the server "
              f"process used {figures['server_cpu_s']:.1f} s of CPU.")
    problems = figures.get("first_problems", []) + figures.get("tf_first_problems", [])
    if problems:
        print("First problems: " + " | ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("check", __doc__.splitlines()[0].strip("`"))
    parser.add_argument("--students", type=int, default=30,
                        help=f"files of tasks 0-3 submitted at once (1 to {MAX_STUDENTS}, "
                             "default 30)")
    parser.add_argument("--tf", type=int, default=10,
                        help="then task 5 (Keras) files submitted at once (0 to skip; default 10)")
    parser.add_argument("--explorers", type=int, default=10,
                        help="students exploring the explorer's pages meanwhile (default 10)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="an explorer's think time between changes, uniform (s)")
    parser.add_argument("--slots", type=int, default=None,
                        help=f"grading slots (default: ${queue.SLOTS_ENV}, else cores - 1)")
    parser.add_argument("--url", help="a running app on this machine (default: start one)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="the whole run's limit: checks without a report by then count as "
                             "errors (default 30)")
    parser.add_argument("--library", action="store_true",
                        help="submit tasks 0-3 to a grading queue in this process instead, no "
                             "app (--tf, --explorers, --url ignored)")
    args = parser.parse_args(argv)
    if not 1 <= args.students <= MAX_STUDENTS or (args.slots is not None and args.slots < 1):
        parser.error(f"--students must be 1 to {MAX_STUDENTS} and --slots at least 1")
    if not 0 <= args.tf <= MAX_STUDENTS or not 0 <= args.explorers <= MAX_SESSIONS:
        parser.error(f"--tf must be 0 to {MAX_STUDENTS}, --explorers 0 to {MAX_SESSIONS}")
    if not 0 < args.minutes <= 120:
        parser.error(f"--minutes {args.minutes:g}: give more than 0 and at most 120")
    if not 0 < args.think[0] <= args.think[1]:
        parser.error(f"--think {args.think}: give 0 < MIN <= MAX")
    ok, reason = sandbox.available()
    if not ok:
        print(f"The sandbox cannot start here: {reason}")
        return 2
    load = Path("/proc/loadavg").read_text().split()[0]
    figures = run(args.students, args.slots) if args.library else through_the_app(args)
    report(figures, load)
    if args.json:
        print_json_line({"benchmark": "check", "load_average_before": float(load), **figures})
    return 0 if figures["errors"] == 0 and not figures.get("tf_errors") else 1
