"""Tests of the page's runner: training in a child process, progress, stop, a killed process."""

import os
import signal
import time
import types

from cnnviz import training
from cnnviz.training import jobs


def test_background_run_trains_off_thread_and_reports_errors(small_mnist, small_config):
    job = training.start_job(small_config("numpy", epochs=1), small_mnist)  # the page's entry
    job.join(60)
    assert job.done and job.error is None and job.result.history.test_accuracy is not None
    live = job.snapshot()
    assert len(live["batches"]) == 12 and len(live["epochs"]) == 1
    assert live["first_layer"].shape == (5, 5, 1, 6) and live["progress"]["seen"] == 360
    tiny = types.SimpleNamespace(x_train=small_mnist.x_train[:1], y_train=small_mnist.y_train[:1],
                                 x_test=small_mnist.x_test, y_test=small_mnist.y_test)
    failed = jobs.BackgroundRun(small_config("numpy", limit=None), tiny)
    failed.join(60)
    assert failed.result is None and "leaves no training images" in failed.error


def test_background_run_trains_in_its_own_process_and_stops_on_request(small_mnist, tmp_path, small_config):
    job = jobs.BackgroundRun(small_config("numpy", epochs=50), small_mnist, tmp_path / "run")
    assert job._process.pid != os.getpid()
    while not job.snapshot()["batches"]:
        assert not job.done, job.error
        time.sleep(0.05)
    assert training.load_run(tmp_path / "run").status == "running"  # this process knows it is alive
    # the server's pages come first: training runs at a lower CPU priority
    assert (os.getpriority(os.PRIO_PROCESS, job._process.pid)
            == min(19, os.getpriority(os.PRIO_PROCESS, 0) + jobs.TRAINING_NICENESS))
    job.stop()
    job.join(60)
    assert job.done and job.error is None and job.result.history.stopped
    assert len(job.result.history.epochs) < 50 and training.load_run(tmp_path / "run").status == "stopped"


def test_background_run_reports_a_killed_training_process(small_mnist, tmp_path, small_config):
    job = jobs.BackgroundRun(small_config("numpy", epochs=50), small_mnist, tmp_path / "run")
    while not job.snapshot()["batches"]:
        time.sleep(0.05)
    os.kill(job._process.pid, signal.SIGKILL)
    job.join(30)
    assert job.done and job.result is None and "ended unexpectedly" in job.error
    assert training.load_run(tmp_path / "run").status == "interrupted"
