"""cnnviz.serving.supervise: the restart decision without processes, then the supervisor over
small shell processes (a second or two in all). The real parts (replicas, HAProxy, Ray head)
are killed in tests/test_replicas.py."""

import os
import subprocess
import sys
import time

import psutil
import pytest

from cnnviz.serving.supervise import Restarts, Supervisor, how_it_ended


def test_restarts_back_off_then_give_up_on_a_part_that_keeps_dying():
    restarts = Restarts(first=1, longest=30, deaths=5, window=60)
    assert [restarts.died(t) for t in (0, 2, 5, 10)] == [1, 2, 4, 8]
    assert restarts.died(15) is None  # the fifth death within 60 s


def test_restarts_forget_deaths_older_than_the_window_and_cap_the_wait():
    restarts = Restarts(first=1, longest=3, deaths=5, window=60)
    assert [restarts.died(t) for t in (0, 1, 2)] == [1, 2, 3]  # 4 s capped at 3
    assert restarts.died(100) == 1  # a part that lived a while starts from the first wait again
    assert restarts.died(101) == 2


def test_how_a_process_ended_is_said_in_words():
    assert how_it_ended(3) == "exit code 3"
    assert how_it_ended(-9) == "killed by SIGKILL"


def dies_at_once(code: int = 3) -> list[str]:
    return ["sh", "-c", f"exit {code}"]


def wait_dead(process: subprocess.Popen) -> None:
    process.wait(timeout=10)


def test_a_dead_part_is_logged_once_and_restarted_after_its_wait():
    lines = []
    supervisor = Supervisor(log=lines.append)
    first = supervisor.start("replica 1", dies_at_once())
    wait_dead(first)
    assert supervisor.check(now=100.0)
    assert lines == [f"replica 1 (pid {first.pid}) exit code 3; restarting it in 1 s "
                     "(death 1 within 60 s; given up at 5)"]
    assert supervisor.check(now=100.5) and supervisor.parts[0].process is first  # still waiting
    assert supervisor.check(now=101.0)
    second = supervisor.parts[0].process
    assert second is not first and len(lines) == 1  # restarted, and no second line for it
    wait_dead(second)
    supervisor.check(now=101.5)
    assert "restarting it in 2 s (death 2 " in lines[-1]


def test_a_part_that_keeps_dying_is_given_up_and_an_essential_one_stops_the_launcher():
    lines = []
    supervisor = Supervisor(log=lines.append)
    supervisor.start("replica 1", dies_at_once())
    supervisor.start("haproxy", dies_at_once(1), essential=True)
    now = 0.0
    while len(lines) < 10:  # five deaths each, restarted as soon as the wait allows
        for part in supervisor.parts:
            if part.restart_at is None and not part.given_up:
                wait_dead(part.process)
        alive = supervisor.check(now=now)
        now += 1.0
        assert now < 60
    assert not alive
    assert lines[-2].endswith("died 5 times within 60 s, giving up on it: the other parts go on")
    assert lines[-1].endswith("giving up on it: nothing serves the class any more; stopping")
    assert all(part.given_up for part in supervisor.parts)


def test_a_part_that_cannot_be_started_again_counts_as_a_death(tmp_path):
    lines = []
    supervisor = Supervisor(log=lines.append)
    script = tmp_path / "part.sh"
    script.write_text("exit 0\n")
    wait_dead(supervisor.start("ray head", ["sh", str(script)]))
    supervisor.check(now=0.0)
    supervisor.parts[0].command = [str(tmp_path / "gone")]
    supervisor.check(now=1.0)
    assert "could not be started" in lines[-1] and "restarting it in 2 s" in lines[-1]


def group_of(process: subprocess.Popen) -> list[psutil.Process]:
    deadline = time.monotonic() + 10
    while not (children := psutil.Process(process.pid).children()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return children


def test_a_dead_parts_leftovers_are_killed_with_it():
    supervisor = Supervisor(log=lambda line: None)
    head = supervisor.start("ray head", ["sh", "-c", "sleep 30 & wait"])
    [left] = group_of(head)  # as a Ray head's GCS server outlives a killed `ray start --block`
    head.kill()
    wait_dead(head)
    supervisor.check(now=0.0)
    left.wait(timeout=5)  # psutil.TimeoutExpired while it lives (it would sleep 30 s)
    assert not left.is_running()


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_stop_ends_every_part_and_its_children_within_its_bound(ignores_sigterm):
    supervisor = Supervisor(log=lambda line: None)
    trap = "trap '' TERM; " if ignores_sigterm else ""
    parts = [supervisor.start(f"replica {k}", ["sh", "-c", f"{trap}sleep 30 & wait"])
             for k in (1, 2)]
    children = [child for part in parts for child in group_of(part)]
    began = time.monotonic()
    supervisor.stop(seconds=1.0)
    took = time.monotonic() - began
    assert all(part.poll() is not None for part in parts)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
    assert took < 3.0  # both parts in one bound, not one bound each
    assert (took >= 1.0) == ignores_sigterm  # killed only after the bound


# a part whose child leaves its process group (as Ray's workers leave the raylet's), not its session
LEAVES_GROUP = [sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen("
                "[sys.executable, '-c', 'import time; time.sleep(30)'], process_group=0); "
                "time.sleep(30)"]


def out_of_group(part: subprocess.Popen) -> psutil.Process:
    [child] = group_of(part)
    deadline = time.monotonic() + 10
    while os.getpgid(child.pid) == part.pid:  # (set between its fork and its exec)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return child


def gone(process: psutil.Process, within: float) -> bool:
    """Whether `process` ends within `within` s (an orphan's zombie counts as gone)."""
    deadline = time.monotonic() + within
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_a_dead_parts_children_out_of_its_group_are_killed_with_it():
    supervisor = Supervisor(log=lambda line: None)
    head = supervisor.start("ray head", LEAVES_GROUP)
    worker = out_of_group(head)
    head.kill()
    wait_dead(head)
    supervisor.check(now=0.0)
    assert gone(worker, 5)  # (it would sleep 30 s)


def test_stop_ends_the_children_that_left_a_parts_group():
    supervisor = Supervisor(log=lambda line: None)
    worker = out_of_group(supervisor.start("ray head", LEAVES_GROUP))
    began = time.monotonic()
    supervisor.stop(seconds=1.0)
    assert gone(worker, 0)  # when stop() returns
    assert time.monotonic() - began < 3.0


def test_a_parts_death_quotes_the_last_line_of_its_output_not_its_traceback(tmp_path):
    lines = []
    supervisor = Supervisor(log=lines.append)
    output = tmp_path / "ray-head.log"
    script = "echo Traceback >&2; echo '  File x' >&2; echo 'Exception: timed out' >&2; exit 1"
    wait_dead(supervisor.start("ray head", ["sh", "-c", script], output=output))
    supervisor.check(now=0.0)
    assert lines == [f"ray head (pid {supervisor.parts[0].process.pid}) exit code 1 "
                     "(Exception: timed out); restarting it in 1 s (death 1 within 60 s; "
                     "given up at 5)"]
    assert supervisor.check(now=1.0)  # started again, its output appended to the same file
    wait_dead(supervisor.parts[0].process)
    assert output.read_text().count("Exception: timed out") == 2
