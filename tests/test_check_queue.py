"""The grading queue: places in order, a bounded waiting list, thirty checks at once all done;
and a real file checked through it in the sandbox."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cnnviz.check import queue, sandbox
from cnnviz.check.solution import Options

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
WAIT_SECONDS = 60  # a guard against a hang, not a timing


def blocked(gate: threading.Event, value=None):
    def work():
        gate.wait(WAIT_SECONDS)
        return value
    return work


def test_waiting_checks_see_their_place_in_order():
    gate = threading.Event()
    checks = queue.CheckQueue(slots=1)
    first = checks.submit(blocked(gate, "first"))
    while checks.running == 0:  # the slot took the first check
        time.sleep(0.01)
    later = [checks.submit(blocked(gate, n)) for n in range(3)]
    assert first.place == 0 and [t.place for t in later] == [1, 2, 3]
    assert not any(t.done for t in [first, *later])
    gate.set()
    assert all(t.wait(WAIT_SECONDS) for t in [first, *later])
    assert [t.result for t in [first, *later]] == ["first", 0, 1, 2]
    assert [t.place for t in later] == [0, 0, 0]


def test_a_full_waiting_list_refuses_with_a_message():
    gate = threading.Event()
    checks = queue.CheckQueue(slots=1, max_waiting=2)
    checks.submit(blocked(gate))
    while checks.running == 0:
        time.sleep(0.01)
    waiting = [checks.submit(blocked(gate)) for _ in range(2)]
    with pytest.raises(queue.Busy, match="busy.*Try again in a minute"):
        checks.submit(blocked(gate))
    gate.set()
    assert all(t.wait(WAIT_SECONDS) for t in waiting)
    assert checks.submit(lambda: "again").wait(WAIT_SECONDS)  # room again once they are done


def test_an_error_in_a_check_reaches_its_ticket_and_the_slot_goes_on():
    checks = queue.CheckQueue(slots=1)

    def broken():
        raise RuntimeError("the grader broke")

    failed, fine = checks.submit(broken), checks.submit(lambda: 7)
    assert failed.wait(WAIT_SECONDS) and fine.wait(WAIT_SECONDS)
    assert str(failed.error) == "the grader broke" and failed.result is None
    assert fine.result == 7 and fine.error is None


def test_thirty_checks_at_once_all_complete_on_two_slots():
    checks, busy, most = queue.CheckQueue(slots=2), [0], [0]
    lock = threading.Lock()

    def work(n):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.01)
        with lock:
            busy[0] -= 1
        return n

    with ThreadPoolExecutor(30) as students:
        tickets = list(students.map(lambda n: checks.submit(lambda: work(n)), range(30)))
    assert all(t.wait(WAIT_SECONDS) for t in tickets)
    assert sorted(t.result for t in tickets) == list(range(30))
    assert most[0] <= 2  # never more checks at once than slots


def test_slots_default_to_cores_minus_one(monkeypatch):
    monkeypatch.delenv(queue.SLOTS_ENV, raising=False)
    assert queue.default_slots() >= 1
    monkeypatch.setenv(queue.SLOTS_ENV, "3")
    assert queue.default_slots() == 3
    monkeypatch.setenv(queue.SLOTS_ENV, "none")
    with pytest.raises(ValueError, match=queue.SLOTS_ENV):
        queue.default_slots()


def test_a_file_checked_through_the_queue_runs_in_the_sandbox():
    ok, reason = sandbox.available()
    if not ok:
        pytest.skip(f"the sandbox cannot start here: {reason}")
    source = (FIXTURES / "1-pool_forward.py").read_bytes()
    ticket = queue.CheckQueue(slots=1).submit(
        lambda: queue.check_in_sandbox("../../1-pool_forward.py", source, ["pool_forward"],
                                       Options(random=2)))
    assert ticket.wait(WAIT_SECONDS) and ticket.error is None
    (report,) = ticket.result
    assert report.path == Path("1-pool_forward.py") and report.problems == []
    assert [r.status for r in report.results] == ["pass"] * 4


def test_without_the_sandbox_nothing_is_checked(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bwrap not found"))
    with pytest.raises(queue.SandboxUnavailable, match="bwrap not found"):
        queue.check_in_sandbox("0-conv_forward.py", "def conv_forward(): pass", ["conv_forward"])


def test_pages_poll_every_second_near_the_front_and_less_often_behind():
    seconds = [queue.poll_seconds(place) for place in range(queue.MAX_WAITING + 1)]
    assert seconds[:3] == [1.0, 1.0, 1.0]  # being checked, next, the one after
    assert seconds == sorted(seconds) and seconds[-1] > seconds[3] > 1.0
    assert queue.poll_seconds(10 * queue.MAX_WAITING) == seconds[-1]
