"""Stopping leaves no process behind (issue 24): the process helpers, the training service's stop,
and `cnnviz app` (one process, and --replicas 2) stopped by Ctrl-C or SIGTERM while a run trains.

The app's processes are found by session, never by name (other programs here run Ray too): each
app starts in a session of its own, as do the parts of a --replicas launcher; Ray's workers leave
their parent's process group but not its session.
"""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from benchmarks.server import free_port, healthy
from benchmarks.students import Teacher
from cnnviz import paths
from cnnviz.training import limits, processes, service
from cnnviz.training.lane import Lane
from tests import installed

STOP_BOUND = 10.0  # issue 24: Ctrl-C stops everything within 10 s, whatever state Ray is in

# a child that starts a grandchild in a process group of its own (as the raylet its workers),
# prints the grandchild's pid and waits; both ignore SIGTERM
FAMILY = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    grandchild = subprocess.Popen([sys.executable, "-c", code], process_group=0)
    print(grandchild.pid, flush=True)
    time.sleep(60)
""")


@pytest.fixture
def family():
    """(child, grandchild pid): the child leads a session of its own."""
    child = subprocess.Popen([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    grandchild = int(child.stdout.readline())
    yield child, grandchild
    for pid in (child.pid, grandchild):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    child.wait()


def test_a_family_is_found_by_parentage_and_by_session_never_by_name(family):
    child, grandchild = family
    below = {process.pid for process in processes.descendants([child.pid])}
    assert below == {child.pid, grandchild}
    assert {process.pid for process in processes.in_sessions([child.pid])} == below
    assert os.getpgid(grandchild) != child.pid  # out of the child's group: killpg misses it
    child.kill()
    child.wait()
    # orphaned: no longer below anyone we know, still in the session
    assert processes.descendants([child.pid]) == []
    assert [process.pid for process in processes.in_sessions([child.pid])] == [grandchild]


def test_end_within_kills_what_ignores_sigterm_within_the_bound(family):
    child, grandchild = family
    family_now = processes.descendants([child.pid])
    began = time.monotonic()
    left = processes.end_within(family_now, 0.5, signal.SIGTERM)
    took = time.monotonic() - began
    assert left == [] and not any(process.alive() for process in family_now)
    assert 0.5 <= took < 0.5 + processes.KILLED_SECONDS + 0.5


def test_a_pid_known_with_another_start_time_is_never_signalled(family):
    child, _ = family
    (now,) = [p for p in processes.descendants([child.pid]) if p.pid == child.pid]
    newcomer = processes.Proc(now.pid, now.start + 1, now.ppid, now.session)
    assert now.alive() and not newcomer.alive()
    newcomer.signal(signal.SIGKILL)
    assert child.poll() is None and now.alive()


def test_started_ray_is_this_processs_children_running_rays_programs_and_below():
    import importlib.util

    ray_home = list(importlib.util.find_spec("ray").submodule_search_locations)[0]
    ray_like = subprocess.Popen([sys.executable, "-c", FAMILY, os.path.join(ray_home, "x.py")],
                                stdout=subprocess.PIPE, text=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        grandchild = int(ray_like.stdout.readline())
        found = {process.pid for process in processes.started_ray()}
        assert {ray_like.pid, grandchild} <= found and other.pid not in found
    finally:
        processes.end_within(processes.descendants([ray_like.pid, other.pid]), 0)
        ray_like.wait()
        other.wait()


def test_stop_ends_the_retries_at_once_and_refuses_new_attempts():
    """A run waiting for an unreachable cluster (retries every 1 to 10 s): stop() ends them."""
    port = free_port()  # nothing listens there
    lane = service.TrainingService(f"127.0.0.1:{port}")
    waiting = lane.submit(lambda: "ran", wanted=lambda: True)
    deadline = time.monotonic() + 30
    while "nothing answers" not in (lane.notice() or ""):
        assert time.monotonic() < deadline, "never tried"
        time.sleep(0.05)
    began = time.monotonic()
    lane.stop(seconds=2)
    with pytest.raises(service.ServiceUnavailable):
        waiting.result(timeout=service.PROBE_SECONDS + 1)
    assert time.monotonic() - began < 2 + service.PROBE_SECONDS + 1
    with pytest.raises(service.ServiceUnavailable, match="stopping"):
        lane.submit(lambda: "ran").result(timeout=5)


def test_a_lane_runs_its_calls_in_order_and_hands_back_their_errors():
    lane, ran = Lane("test-lane"), []
    first = lane.submit(lambda: time.sleep(0.2) or ran.append(1))
    second = lane.submit(ran.append, 2)
    failing = lane.submit(lambda: 1 / 0)
    assert second.result(timeout=5) is None and first.done() and ran == [1, 2]
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)


def test_a_process_exits_at_once_while_its_lane_is_stuck():
    """Python joins a ThreadPoolExecutor's threads at exit, without a bound; not the lane."""
    code = "import time; from cnnviz.training.lane import Lane; Lane('x').submit(time.sleep, 60)"
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert time.monotonic() - began < 15  # (Python's start included, on a busy machine)


# a server for benchmarks.server._serving: answers the health check, and leaves behind a child out
# of its group that ignores SIGTERM when it is stopped (as Ray's agents once did)
FAKE_SERVER = textwrap.dedent("""
    import http.server, subprocess, sys
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    subprocess.Popen([sys.executable, "-c", code], process_group=0)

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
""")


def test_a_benchmarks_server_leaves_nothing_and_what_it_left_is_said(monkeypatch, capsys):
    from benchmarks import server

    monkeypatch.setattr(server, "LEFT_SECONDS", 0.5)
    port = free_port()
    with server._serving([sys.executable, "-c", FAKE_SERVER, str(port)], port, None, 30,
                         stop_seconds=5) as serving:
        deadline = time.monotonic() + 10
        while len(processes.in_sessions([serving.pid])) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert processes.in_sessions([serving.pid]) == []
    assert "1 process(es) of the stopped server's session were still running" in \
        capsys.readouterr().err


# --- `cnnviz app`, started, training, stopped ----------------------------------------------------

def start_app(tmp_path, *options: str) -> tuple[subprocess.Popen, str]:
    """`cnnviz app` in a session of its own on a free loopback port: (process, url)."""
    port = free_port()
    env = {**os.environ, paths.RUNS_ENV: str(tmp_path / "runs"), limits.MAX_RUNS_ENV: "1",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop(service.ADDRESS_ENV, None)
    log = (tmp_path / "app.log").open("w")
    app = subprocess.Popen([sys.executable, "-m", "cnnviz", "app", *options, "--port", str(port),
                            "--address", "127.0.0.1"], env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    while not healthy(url):
        assert app.poll() is None and time.monotonic() < deadline, read_log(tmp_path)
        time.sleep(0.2)
    return app, url


def read_log(tmp_path) -> str:
    return (tmp_path / "app.log").read_text()[-3000:]


def sessions_of(app: subprocess.Popen) -> set[int]:
    """The app's session and those of the parts it started in sessions of their own."""
    return {app.pid} | {process.session for process in processes.descendants([app.pid])}


def train_then_stop(app: subprocess.Popen, url: str, signum: int, tmp_path,
                    freeze: bool = False) -> float:
    """Start a NumPy run from the Training page, wait for its first batches, (freeze Ray's GCS
    server and raylet: SIGSTOP,) send signum (to the process group, as a terminal's Ctrl-C;
    SIGTERM to the process alone, as `kill`); the seconds until no process of the app's
    sessions remains (failing after STOP_BOUND)."""
    teacher = Teacher(url, "NumPy")
    asyncio.run(teacher.start(epochs=50, wait=240))
    assert teacher.started, teacher.error + read_log(tmp_path)
    sessions = sessions_of(app)
    names = {(command(process).split() or [""])[0].rsplit("/", 1)[-1]
             for process in processes.in_sessions(sessions)}
    assert {"raylet", "gcs_server", "ray::DashboardAgent", "ray::RuntimeEnvAgent"} <= names
    for process in processes.in_sessions(sessions) if freeze else []:
        if any(name in command(process) for name in ("/gcs_server ", "/raylet ")):
            os.kill(process.pid, signal.SIGSTOP)
    began = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(app.pid, signum)
    else:
        app.send_signal(signum)
    while processes.in_sessions(sessions) or app.poll() is None:
        left = [(process.ppid, command(process)[:160]) for process in
                processes.in_sessions(sessions)]
        assert time.monotonic() - began < STOP_BOUND, \
            f"left after {STOP_BOUND} s (parent, command): {left}\n{read_log(tmp_path)}"
        time.sleep(0.1)
    with contextlib.suppress(Exception):
        asyncio.run(teacher.session.close())
    return time.monotonic() - began


def command(process: processes.Proc) -> str:
    with contextlib.suppress(OSError):
        return (processes.PROC / str(process.pid) / "cmdline").read_bytes().decode(
            errors="replace").replace("\0", " ")
    return ""


@pytest.fixture
def kill_sessions():
    """Whatever a failing test left in the sessions it registered, killed by session."""
    sessions: set[int] = set()
    yield sessions
    processes.end_within(processes.in_sessions(sessions), 0)


@pytest.mark.server
@pytest.mark.parametrize(("signum", "freeze"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                               (signal.SIGINT, True)],
                         ids=["ctrl-c", "sigterm", "ctrl-c-ray-frozen"])
def test_one_process_app_stopped_while_training_leaves_no_ray_process(signum, freeze, tmp_path,
                                                                      kill_sessions):
    """With its Ray frozen too: leaving it hangs, so its processes are killed at the bound."""
    app, url = start_app(tmp_path)
    kill_sessions.add(app.pid)
    took = train_then_stop(app, url, signum, tmp_path, freeze)
    print(f"\none process, a run training{', Ray frozen' if freeze else ''}, "
          f"{signal.Signals(signum).name}: every process gone after {took:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})")


@pytest.mark.server
def test_replicas_stopped_by_ctrl_c_while_training_leave_no_ray_process(tmp_path, kill_sessions):
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    installed.need(haproxy is not None, "haproxy", "haproxy")
    app, url = start_app(tmp_path, "--replicas", "2")
    kill_sessions.update(sessions_of(app))
    took = train_then_stop(app, url, signal.SIGINT, tmp_path)
    assert app.returncode == 0
    assert re.search(r"cnnviz: stopped in [\d.]+ s", read_log(tmp_path))
    print(f"\n--replicas 2, a run training, Ctrl-C: every process gone after {took:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})")


# a "raylet" (its command names Ray's home) that starts a "worker" (so does its command), prints
# the worker's pid and waits, in a process that adopts orphans (argv[1] "adopt") or not; once the
# raylet is killed, it prints whether started_ray() finds the orphaned worker, then ends it
ADOPTER = textwrap.dedent("""
    import os, signal, subprocess, sys
    from cnnviz.training import processes
    home = sys.argv[2]
    if sys.argv[1] == "adopt":
        processes.adopt_orphans()
    worker = "import subprocess, sys; print(subprocess.Popen(sys.argv[1:]).pid, flush=True)"
    raylet = subprocess.Popen([sys.executable, "-c", worker, sys.executable, "-c",
                               "import time; time.sleep(60)", home], stdout=subprocess.PIPE)
    orphan = int(raylet.stdout.readline())
    raylet.kill()
    raylet.wait()
    found = orphan in {process.pid for process in processes.started_ray()}
    os.kill(orphan, signal.SIGKILL)
    print(found)
""")


@pytest.mark.parametrize(("mode", "found"), [("adopt", True), ("no", False)])
def test_an_orphan_of_rays_processes_is_found_once_the_stopping_server_adopts(mode, found):
    import importlib.util

    ray_home = os.path.join(list(importlib.util.find_spec("ray").submodule_search_locations)[0],
                            "x.py")
    done = subprocess.run([sys.executable, "-c", ADOPTER, mode, ray_home], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == str(found)


# leave_ray_within (Ray left at once) in a process that lives on, then its subreaper flag
# (prctl PR_GET_CHILD_SUBREAPER, 37): 0 when it adopts no more
STOPPER = textwrap.dedent("""
    import ctypes
    from concurrent.futures import Future
    from cnnviz.training import processes
    left = Future()
    left.set_result(None)
    processes.leave_ray_within(lambda: left, 0.5)
    flag = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)
    print(flag.value)
""")


def test_a_process_that_left_ray_adopts_no_more_orphans():
    done = subprocess.run([sys.executable, "-c", STOPPER], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "0"
