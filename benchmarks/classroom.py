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
open, polling the live view as the browser does, while the class works; each time the run ends
the teacher presses Start again, so a run trains the whole lesson. --teacher has a teacher
lead the lesson meanwhile (benchmarks/teacher.py): the Class page open and refreshing, "Show this
to the class" every 30 s, a quick question every 2 minutes that every student answers from the
banner; the answers sent are then compared with the class store's.
--cross-check LEVELS runs Playwright browsers beside protocol sessions doing the same changes, to
check that the protocol's server times sit below the browser's control->chart times and move with
them as the class around them grows.
Every 30 s it also reads each replica's RSS (benchmarks/memory.py): the figures add each
replica's growth in MB per hour (`rss_growth_mb_per_hour`, fitted after the first 10 minutes) and
the p95 of the first and of the last 10 minutes' changes (`p95_first_10min_ms`,
`p95_last_10min_ms`); a class under 30 minutes uses its first and last third instead, and says so
(`memory_window_min`). --tail M keeps sampling the replicas for M minutes after the students
left (the server still up, nobody on it): does what grew come back down?
Loopback only; sessions and minutes are capped.
"""

import asyncio
import contextlib
import os

from benchmarks import memory, teacher
from benchmarks.common import argument_parser, machine, print_json_line
from benchmarks.students import MAX_MINUTES, MAX_SESSIONS, figures, run_class, server_under_test

MAX_TAIL_MINUTES = 30  # the memory's samples after the class: enough to see a backlog drain


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
        print(f"Training ({t['backend']}): started {t['started']}, {t['runs']} run(s) one "
              f"after another, still running at the end {t['running_at_end']}; the teacher's "
              f"live view polled {t['polls']} times, p50/p95 "
              f"{_ms(t['poll_p50_ms'])}/{_ms(t['poll_p95_ms'])} ms. {t['error']}")
    if "share_to_banner_p95_ms" in r:
        teacher.report(r)
    print(memory.report(r))
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
    parser.add_argument("--teacher", action="store_true",
                        help="a teacher leads the class (benchmarks/teacher.py): the Class page "
                             "open, a share every 30 s, a question every 2 min for every student")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="a student's think time between actions, uniform (s)")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="students arrive spread over this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tail", type=float, default=0.0, metavar="M",
                        help="keep sampling the replicas' memory M minutes after the class left "
                             f"(at most {MAX_TAIL_MINUTES})")
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
    if args.teacher and args.url and not os.environ.get(teacher.TOKEN_ENV):
        parser.error(f"--teacher with --url: set {teacher.TOKEN_ENV} to the server's teacher "
                     "token (and CNNVIZ_DATABASE_URL or CNNVIZ_RUNS_DIR to its class store)")
    if not 0 <= args.tail <= MAX_TAIL_MINUTES:
        parser.error(f"--tail {args.tail}: give 0 to {MAX_TAIL_MINUTES}")
    if not 0 < args.think[0] <= args.think[1]:
        parser.error(f"--think {args.think}: give 0 < MIN <= MAX")
    return args


async def _watched(replicas: memory.ReplicaMemory, work, tail_minutes: float = 0.0):
    """Await `work` while `replicas` samples the replicas' memory, and `tail_minutes` after."""
    sampling = asyncio.create_task(replicas.run())
    try:
        result = await work
        await asyncio.sleep(tail_minutes * 60)
        return result
    finally:
        sampling.cancel()


def main(argv: list[str]) -> int:
    import streamlit

    args = parse_args(argv)
    if args.cross_check:
        from benchmarks import cross_check

        return cross_check.main(args)
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        lesson = stack.enter_context(teacher.lesson_environment(args.url)) if args.teacher \
            else None
        url, pid = stack.enter_context(server_under_test(args.url, args.server_pid,
                                                         args.replicas))
        replicas = memory.ReplicaMemory(pid)
        room, extra = asyncio.run(_watched(replicas, run_class(
            url, pid, args.sessions, args.minutes, tuple(args.think), args.ramp, args.seed,
            args.training, args.replicas or 1, lesson), args.tail))
    result = figures(room, args.sessions, args.minutes, extra)
    result.update(memory.figures(replicas, room.start, args.minutes,
                                 [(a.at, a.seconds) for a in room.actions if a.kind == "change"]))
    result["load_average"] = (load_before, os.getloadavg()[0])
    result["replicas"] = args.replicas
    machine_line = machine(Streamlit=streamlit.__version__)
    report(result, machine_line, result["load_average"])
    if args.json:
        print_json_line({"benchmark": "classroom", "machine": machine_line, **result})
    return 0
