"""Stopping the training service never cuts a follower's Ray call: a call in flight while
ray.shutdown runs reaches Ray's core worker as it goes, and Ray's core ends the whole server
("The core worker has already been shutdown"), its agents orphaned; one made after it starts a new
Ray (ray.get and ray.wait call ray.init). So stop() refuses every new call, leaves Ray once those in
flight ended (service.STOP_CALLS_SECONDS at most), and does not leave it at all (its processes are
killed) while one is still in flight then.

No Ray is started here: ray.shutdown is a stand-in that says what was in flight when it ran, and
this process's Ray processes (none, or a session fixture's) are not touched (started_ray: none).
"""

import threading
import time

import pytest

from cnnviz.training import processes, service
from cnnviz.training.service import HeadGone


@pytest.fixture
def stopping(monkeypatch):
    """(a service, the calls' bodies running when its ray.shutdown ran (one list per run),
    an Event set once stop() began)."""
    import ray

    lane = service.TrainingService("local")
    shutdowns: list[list[str]] = []
    running: set[str] = set()
    began = threading.Event()

    def shutdown(*args, **kwargs):
        shutdowns.append(sorted(running))

    leave_ray_within = processes.leave_ray_within

    def leaving(leave, seconds):
        began.set()
        leave_ray_within(leave, seconds)

    monkeypatch.setattr(ray, "shutdown", shutdown)
    monkeypatch.setattr(processes, "started_ray", lambda: [])
    monkeypatch.setattr(processes, "leave_ray_within", leaving)
    lane.running, lane.shutdowns, lane.began = running, shutdowns, began
    yield lane
    lane._stopping.set()


def hold_a_call(lane, name: str, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """A follower inside a report call (knock=False) for `seconds` (or till its Event is set),
    its body in lane.running meanwhile."""
    inside, release = threading.Event(), threading.Event()

    def follow():
        with lane.ray_call(lane.generation, knock=False):
            lane.running.add(name)
            inside.set()
            release.wait(seconds)
            lane.running.discard(name)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert inside.wait(5)
    return follower, release


def test_stop_leaves_ray_only_once_the_call_in_flight_ended_and_refuses_new_ones(stopping):
    follower, _ = hold_a_call(stopping, "report", 0.5)  # (a report call waits 0.5 s at most)
    stopper = threading.Thread(target=stopping.stop, kwargs={"seconds": 3.0})
    stopper.start()
    assert stopping.began.wait(5)
    with pytest.raises(HeadGone), stopping.ray_call(stopping.generation, knock=False):
        pytest.fail("a Ray call began while the server stops")
    stopper.join(10)
    follower.join(5)
    assert not stopper.is_alive() and not follower.is_alive()
    assert stopping.shutdowns == [[]], "ray.shutdown ran with a follower's Ray call in flight"
    assert service.CALL_WAIT_SECONDS <= 0.5 < service.STOP_CALLS_SECONDS


def test_a_call_that_outlasts_the_bound_gets_ray_killed_never_left_under_it(stopping):
    _, release = hold_a_call(stopping, "stuck", 60)
    try:
        began = time.monotonic()
        stopping.stop(seconds=3.0)
        took = time.monotonic() - began
    finally:
        release.set()
    assert stopping.shutdowns == [], "ray.shutdown ran with a follower's Ray call in flight"
    assert took < 3.0 + 2 * processes.KILLED_SECONDS + 1


def test_a_run_ended_while_the_server_stops_leaves_its_ray_objects_with_the_service(stopping):
    """Its actor handle and report stream, dropped with the page's session, could reach Ray's
    core worker while ray.shutdown ends it: the service holds them till Ray is left."""
    from cnnviz.training.queueing import QueuedRun

    run = QueuedRun(stopping, None)
    handle, stream = object(), object()
    run.actor, run.reports, run.generation = handle, stream, stopping.generation
    stopping._stopping.set()  # (as stop() does first)
    run.free()
    assert run.actor is None and run.reports is None
    assert any(handle in held and stream in held for held in stopping._kept)
