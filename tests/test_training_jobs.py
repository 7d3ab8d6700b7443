"""Tests of the page's runner: runs on Ray workers (one slot here), their progress and records,
the queue's order and cap, Stop while queued and while running, a killed worker, and a run held
before it begins (the class's pause) keeping its place."""

import dataclasses
import os
import signal
import socket
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from ray import cloudpickle

from cnnviz import training
from cnnviz.nn import lenet
from cnnviz.training import limits, runs, service, worker

pytestmark = pytest.mark.usefixtures("ray_service")
TIMEOUT = 120


def wait_until(condition, job, what: str) -> None:
    """Poll condition() until true; fail saying what was awaited if the job ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert not job.done, f"the run ended before {what}: {job.error}"
        assert time.monotonic() < deadline, f"no {what} within {TIMEOUT} s"
        time.sleep(0.05)


def occupy_the_slot(small_mnist, small_config, run_dir):
    """A long run that has the only training slot (it trains until stopped)."""
    job = training.start_job(small_config("numpy", epochs=500), small_mnist, run_dir)
    wait_until(lambda: job.snapshot()["batches"], job, "a first batch")
    return job


def test_a_run_trains_on_a_ray_worker_and_streams_its_progress(small_mnist, tmp_path, small_config):
    job = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "run")
    job.join(TIMEOUT)
    assert job.done and job.error is None and job.result.history.test_accuracy is not None
    live = job.snapshot()
    assert len(live["batches"]) == 12 and len(live["epochs"]) == 1 and live["phase"] == "ended"
    assert live["first_layer"].shape == (5, 5, 1, 6) and live["progress"]["seen"] == 360
    record = runs.read_record(tmp_path / "run")
    assert record["status"] == "finished" and record["submitted"] <= record["started"]
    assert record["owner"]["pid"] == os.getpid()  # this process wrote the record ...
    assert record["worker"]["pid"] != os.getpid()  # ... of a run trained by a Ray worker
    assert record["worker"] == {"host": socket.gethostname(), "pid": record["worker"]["pid"],
                                "cpus": 1}
    params, meta = lenet.load_params(job.result.model_path)  # the shipped checkpoint, written here
    predictions = lenet.predict(params, training.as_inputs(small_mnist.x_test)).argmax(axis=1)
    assert predictions.tolist() == job.result.history.test_predictions
    assert meta["epochs_done"] == 1 and meta["run"] == "run"
    # the history the worker's reports added up to is the one it saved, and the page's run
    assert training.SavedRun.of_result(job.result) == training.load_run(tmp_path / "run")


def test_a_run_that_fails_says_why(small_mnist, tmp_path, small_config):
    one_image = types.SimpleNamespace(x_train=small_mnist.x_train[:1],
                                      y_train=small_mnist.y_train[:1],
                                      x_test=small_mnist.x_test, y_test=small_mnist.y_test)
    with pytest.raises(ValueError, match="leaves no training images"):  # refused before Ray
        training.start_job(small_config("numpy", limit=None), one_image)
    tiny_images = types.SimpleNamespace(x_train=np.zeros((400, 6, 6), np.uint8),
                                        y_train=np.zeros(400, np.int64),
                                        x_test=small_mnist.x_test, y_test=small_mnist.y_test)
    job = training.start_job(small_config("numpy"), tiny_images, tmp_path / "run")
    job.join(TIMEOUT)
    assert job.result is None and job.error.startswith("Training failed: ")
    saved = training.load_run(tmp_path / "run")
    assert saved.status == "failed" and saved.error in job.error


def test_runs_start_in_queue_order_and_know_their_place(small_mnist, tmp_path, small_config):
    first = occupy_the_slot(small_mnist, small_config, tmp_path / "first")
    second, third = (training.start_job(small_config("numpy", epochs=1), small_mnist,
                                        tmp_path / name) for name in ("second", "third"))
    wait_until(lambda: [second.snapshot()["place"], third.snapshot()["place"]] == [1, 2], third,
               "places 1 and 2")
    assert second.phase == third.phase == "queued"
    standing = third.standing()  # the queue's figures alone, no rows
    assert set(standing) == {"phase", "place", "starts_in"} and standing["place"] == 2
    assert runs.read_record(tmp_path / "third")["status"] == "queued"
    assert second.snapshot()["starts_in"] > 0 and third.snapshot()["starts_in"] > 0
    # each run's estimate is refreshed at its own moment, while the first run's own estimate of
    # its end moves: their order is a claim about one moment's queue
    view = service.SERVICE.queue_view(tmp_path)
    names = sorted(actor for actor in view.actors if actor.endswith(("-second", "-third")))
    (second_place, second_in), (third_place, third_in) = (view.where(name) for name in names)
    assert (second_place, third_place) == (1, 2) and 0 < second_in < third_in
    first.stop()
    for job in (first, second, third):
        job.join(TIMEOUT)
        assert job.error is None and job.result is not None
    records = [runs.read_record(tmp_path / name) for name in ("first", "second", "third")]
    assert [record["status"] for record in records] == ["stopped", "finished", "finished"]
    started = [record["started"] for record in records]
    assert started == sorted(started)


def test_leaving_the_queue_before_the_run_starts(small_mnist, tmp_path, small_config):
    first = occupy_the_slot(small_mnist, small_config, tmp_path / "first")
    second = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "second")
    wait_until(lambda: second.snapshot()["place"] == 1, second, "a place in the queue")
    second.stop()
    second.join(TIMEOUT)
    assert second.done and second.result is None and second.error is None  # left the queue
    assert second.snapshot()["batches"] == [] and not (tmp_path / "second").exists()
    assert not first.done  # the running run goes on
    first.stop()
    first.join(TIMEOUT)


def test_stop_while_running_ends_the_run_and_keeps_it(small_mnist, tmp_path, small_config):
    job = occupy_the_slot(small_mnist, small_config, tmp_path / "run")
    job.stop()
    assert job.stopping
    job.join(TIMEOUT)
    assert job.error is None and job.result.history.stopped
    assert len(job.result.history.epochs) < 500
    saved = training.load_run(tmp_path / "run")
    assert saved.status == "stopped" and saved.history.test_accuracy is not None
    assert saved.model_path.is_file()


def test_a_full_queue_refuses_more_runs_with_a_message(small_mnist, tmp_path, small_config,
                                                       monkeypatch):
    monkeypatch.setenv(limits.MAX_QUEUED_ENV, "1")
    first = occupy_the_slot(small_mnist, small_config, tmp_path / "first")
    second = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "second")
    wait_until(lambda: second.snapshot()["place"] == 1, second, "a place in the queue")
    third = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "third")
    third.join(TIMEOUT)
    assert third.result is None and third.error.startswith("The training queue is full: 1 runs")
    assert not (tmp_path / "third").exists()
    for job in (second, first):
        job.stop()
        job.join(TIMEOUT)


def test_a_killed_worker_ends_the_run_with_its_last_epoch_kept(small_mnist, tmp_path,
                                                               small_config):
    job = occupy_the_slot(small_mnist, small_config, tmp_path / "run")
    wait_until(lambda: job.snapshot()["epochs"], job, "a first epoch")
    os.kill(runs.read_record(tmp_path / "run")["worker"]["pid"], signal.SIGKILL)
    job.join(TIMEOUT)
    assert job.result is None and job.error.startswith("The training worker died")
    saved = training.load_run(tmp_path / "run")
    assert saved.status == "interrupted" and saved.error == job.error
    assert len(saved.history.epochs) >= 1
    assert lenet.load_params(saved.model_path)[1]["epochs_done"] == len(saved.history.epochs)


@dataclasses.dataclass(frozen=True)
class FileHold:
    """A run's hold (worker.wait_while_held) that leaves `asked` in folder when the worker asks
    it, and holds the run while `paused` is there. Shipped to the worker by value."""

    folder: str

    def paused(self) -> bool:
        Path(self.folder, "asked").touch()
        return Path(self.folder, "paused").exists()


def test_a_held_run_keeps_its_slot_and_place_until_its_hold_ends(small_mnist, tmp_path,
                                                                 small_config):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # FileHold, to the worker
    (tmp_path / "paused").touch()
    first = occupy_the_slot(small_mnist, small_config, tmp_path / "first")
    held = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "held",
                              hold=FileHold(str(tmp_path)))
    behind = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "behind")
    wait_until(lambda: behind.snapshot()["place"] == 2, behind, "place 2 behind the held run")
    first.stop()
    wait_until(lambda: (tmp_path / "asked").exists(), held, "the held run's worker to ask")
    time.sleep(3 * worker.HOLD_POLL_SECONDS)  # held: it asks again, and neither run begins
    assert held.phase == behind.phase == "queued" and held.snapshot()["batches"] == []
    assert runs.read_record(tmp_path / "held")["status"] == "queued"
    (tmp_path / "paused").unlink()
    for job in (first, held, behind):
        job.join(TIMEOUT)
        assert job.error is None and job.result is not None
    started = [runs.read_record(tmp_path / name)["started"] for name in ("held", "behind")]
    assert started == sorted(started)  # the held run kept its place


def test_a_run_waits_while_its_hold_says_paused_and_a_stop_ends_the_wait():
    answers = iter([True, True, False])
    asked = []
    hold = types.SimpleNamespace(paused=lambda: asked.append(1) or next(answers))
    worker.wait_while_held(hold, threading.Event(), poll=0.01)
    assert len(asked) == 3  # asked until it said no
    stop = threading.Event()
    stop.set()
    worker.wait_while_held(types.SimpleNamespace(paused=lambda: True), stop, poll=60)
    worker.wait_while_held(None, threading.Event(), poll=60)  # no hold: at once
