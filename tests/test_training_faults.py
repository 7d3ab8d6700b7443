"""Faults during a lesson, each bounded in time: a Ray cluster that cannot be reached (nothing
listens at its address), and a runs folder that cannot be written (full, read-only, not a
folder). Each asserts what the student sees, what is kept, and that the others carry on."""

import errno
import json
import os
import time
from pathlib import Path

import pytest

from cnnviz import training
from cnnviz.nn import lenet
from cnnviz.serving.replicas import free_port
from cnnviz.training import runs, service

NOTICE_SECONDS = 5.0  # a student learns within this that the service cannot be reached
TIMEOUT = 120


def wait_for(condition, seconds: float, what: str) -> float:
    """Seconds until condition() held; fails saying what was awaited after `seconds`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"no {what} within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def unreachable():
    """A training service whose cluster address is a free port of 127.0.0.1: nothing listens."""
    address = f"127.0.0.1:{free_port()}"
    yield service.TrainingService(address), address


def test_an_unreachable_cluster_says_so_and_the_run_can_leave(unreachable, small_mnist, tmp_path,
                                                              small_config):
    lane, address = unreachable
    job = training.start_job(small_config("numpy"), small_mnist, tmp_path / "run", service=lane)
    told = wait_for(lambda: "cannot be reached" in (job.standing().get("service") or ""),
                    NOTICE_SECONDS, "notice that the service cannot be reached")
    notice = job.standing()["service"]
    assert address in notice and "keeps its place in the queue" in notice
    print(f"unreachable cluster: told after {told:.2f} s")
    time.sleep(2 * service.RETRY_SECONDS)  # retried meanwhile; nothing crashes, it still waits
    assert job.phase == "starting" and not job.done and job.error is None
    job.stop()
    left = wait_for(lambda: job.done, 5.0, "end after Stop")
    print(f"unreachable cluster: left the queue {left:.2f} s after Stop")
    assert job.result is None and job.error is None  # left the queue, as the page tells
    assert not (tmp_path / "run").exists()  # nothing was trained, nothing is kept


def test_waiting_work_runs_in_order_once_the_service_is_back(unreachable, monkeypatch):
    lane, address = unreachable
    done = []
    futures = [lane.submit(lambda n=n: done.append(n), wanted=lambda: True) for n in range(3)]
    wait_for(lambda: lane.notice() and address in lane.notice(), NOTICE_SECONDS, "a notice")
    assert done == [] and not any(future.done() for future in futures)
    monkeypatch.setattr(lane, "_join", lambda: None)  # the cluster is back
    back = wait_for(lambda: all(future.done() for future in futures),
                    service.RETRY_MAX_SECONDS + 5, "the waiting work")
    print(f"unreachable cluster: waiting work ran {back:.2f} s after the service was back")
    assert done == [0, 1, 2] and lane.notice() is None


def test_one_attempt_without_wanted_raises_with_the_address(unreachable):
    lane, address = unreachable
    with pytest.raises(service.ServiceUnavailable, match=f"nothing answers at {address}"):
        lane.submit(lambda: None).result(timeout=service.PROBE_SECONDS + 5)


def test_a_runs_folder_that_is_not_a_folder_refuses_the_run_naming_it(tmp_path, small_config):
    (tmp_path / "file").write_text("not a folder")
    root = tmp_path / "file" / "runs"
    with pytest.raises(runs.RunsFolderError, match=f"the runs folder {root} cannot be written"):
        training.new_run_dir(small_config("numpy"), root)


def failing_writes(monkeypatch, folder, code: int, everything: bool) -> None:
    """Once a run in folder wrote its first model and then its record, writes there raise
    OSError(code): every one (read-only), or the model's only (full: a small run.json fits)."""
    replace, written = runs.replace_atomically, []

    def replace_or_fail(path, write):
        path = Path(path)
        mine = folder in path.parents
        armed = mine and "model" in written and written[-1] == "record"
        if armed and (everything or path.suffix == ".npz"):
            raise OSError(code, os.strerror(code))
        replace(path, write)
        if mine:
            written.append("model" if path.suffix == ".npz" else "record")

    monkeypatch.setattr(runs, "replace_atomically", replace_or_fail)


@pytest.mark.usefixtures("ray_service")
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_runs_folder_full_or_read_only_ends_that_run_only(code, monkeypatch, small_mnist,
                                                            tmp_path, small_config):
    full, other = tmp_path / "full", tmp_path / "other"
    failing_writes(monkeypatch, full, code, everything=code == errno.EROFS)
    job = training.start_job(small_config("numpy", epochs=3), small_mnist, full / "run")
    job.join(TIMEOUT)
    assert job.result is None and f"the runs folder {full} cannot be written" in job.error
    saved = training.load_run(full / "run")  # what was written before is whole
    params, meta = lenet.load_params(saved.model_path)
    assert meta["epochs_done"] == 1 and params
    record = json.loads((full / "run" / "run.json").read_text())
    if code == errno.ENOSPC:  # the small run.json still fits: the run is recorded failed
        assert record["status"] == "failed" and record["error"] == job.error
    else:  # nothing more could be written: the record stays as the first epoch left it
        assert record["status"] == "running" and len(record["history"]["epochs"]) == 1
    second = training.start_job(small_config("numpy", epochs=1), small_mnist, other / "run")
    second.join(TIMEOUT)  # another student's run, in another folder, trains on
    assert second.error is None and second.result.history.test_accuracy is not None
    assert training.load_run(other / "run").status == "finished"


@pytest.fixture
def page(unreachable, tmp_path, monkeypatch):
    """The training page (AppTest) whose training service's cluster cannot be reached."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(service, "SERVICE", unreachable[0])
    monkeypatch.setattr(training.jobs, "SERVICE", unreachable[0])
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app_pages" / "training.py"),
                           default_timeout=TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    at.radio(key="train_backend").set_value("numpy")
    at.slider(key="train_limit_mnist").set_value(300)
    return at


def test_the_page_tells_a_student_the_service_cannot_be_reached(page, unreachable):
    at = page.button(key="train_start").click().run()
    job = at.session_state["training_job"]
    wait_for(lambda: job.standing()["service"], NOTICE_SECONDS, "a notice")
    at.run()
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert unreachable[1] in warning.value and "keeps its place in the queue" in warning.value
    at = at.button(key="train_stop").click().run()  # labelled "Leave the queue"
    wait_for(lambda: job.done, 5.0, "end after Stop")
    at.run()
    assert "training_job" not in at.session_state and not at.error
    assert [info.value for info in at.info] == ["You left the training queue; nothing was trained."]


def test_the_page_names_a_runs_folder_it_cannot_write(page, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path / "file" / "runs"))
    at = page.run().button(key="train_start").click().run()
    assert not at.exception and "training_job" not in at.session_state
    (error,) = at.error
    assert f"the runs folder {tmp_path / 'file' / 'runs'} cannot be written" in error.value


def kill_head() -> None:
    """`kill -9` of the embedded Ray's GCS server and raylet; returns once they are gone."""
    import psutil

    head = [part for part in psutil.Process().children(recursive=True)
            if part.name() in ("gcs_server", "raylet") and part.status() != psutil.STATUS_ZOMBIE]
    assert len(head) == 2, head
    for part in head:
        part.kill()
    assert not psutil.wait_procs(head, timeout=10)[1]  # gone, their ports closed


@pytest.mark.usefixtures("ray_service")
def test_after_rays_head_is_killed_the_server_leaves_it_and_a_new_run_trains(
        small_mnist, tmp_path, small_config):
    """The embedded Ray's head killed (as `kill -9` of its GCS server and raylet): the server
    leaves it before Ray would end the server's process for it (60 s), a student who then
    presses Start is told at once, and the run trains on a Ray started afresh."""
    import ray

    kill_head()
    left = wait_for(lambda: not ray.is_initialized(), service.WATCH_SECONDS + 15, "leaving Ray")
    job = training.start_job(small_config("numpy", epochs=1), small_mnist, tmp_path / "run")
    told = wait_for(lambda: job.standing().get("service") or job.phase != "starting",
                    NOTICE_SECONDS, "a notice")
    trained = wait_for(lambda: job.done, TIMEOUT, "the run's end")
    print(f"Ray head killed: left after {left:.2f} s; a run started then was told after "
          f"{told:.2f} s and ended {trained:.2f} s later")
    assert job.error is None and training.load_run(tmp_path / "run").status == "finished"


@pytest.mark.usefixtures("ray_service")
def test_a_head_killed_under_runs_ends_the_trainer_and_resubmits_the_waiting_in_order(
        small_mnist, tmp_path, small_config):
    """One run trains (one slot) and two wait when the embedded Ray's head is killed: the
    trainer ends "interrupted" with its last finished epoch kept; the waiting runs' pages say
    within NOTICE_SECONDS that training restarts and their run is queued, and both are submitted
    again, in their order, and train on the new Ray."""
    trainer = training.start_job(small_config("numpy", epochs=50), small_mnist, tmp_path / "a")
    wait_for(lambda: trainer.snapshot()["epochs"], TIMEOUT, "the trainer's first epoch")
    waiting = []
    for name in ("b", "c"):
        waiting.append(training.start_job(small_config("numpy", epochs=1), small_mnist,
                                          tmp_path / name))
        wait_for(lambda: waiting[-1].phase == "queued", TIMEOUT, f"run {name} queued")
    kill_head()
    killed = time.monotonic()
    wait_for(lambda: all("Training is restarting" in (job.standing().get("service") or "")
                         and "queued" in job.standing()["service"] for job in waiting),
             NOTICE_SECONDS, "the waiting runs told that training restarts")
    told = time.monotonic() - killed
    wait_for(lambda: trainer.done, 30, "the trainer's end")
    ended = time.monotonic() - killed
    assert trainer.result is None and "last finished epoch" in trainer.error
    kept = training.load_run(tmp_path / "a")
    assert kept.status == "interrupted" and kept.history.epochs
    assert lenet.load_params(kept.model_path)[1]["epochs_done"] == len(kept.history.epochs)
    # "running" may last less than a poll here (one epoch of 400 digits, its follower's first
    # look at it late): a run that trained has passed through it, and its record says so below
    wait_for(lambda: waiting[0].phase in ("running", "ended"), TIMEOUT,
             "the first waiting run training")
    restarted = time.monotonic() - killed
    wait_for(lambda: all(job.done for job in waiting), TIMEOUT, "the waiting runs")
    recovered = time.monotonic() - killed
    print(f"Ray head killed under 1 training + 2 waiting: told {told:.2f} s, trainer ended "
          f"{ended:.2f} s, the first waiting run training again {restarted:.2f} s, both "
          f"waiting runs trained {recovered:.2f} s after the kill")
    assert [job.error for job in waiting] == [None, None]
    records = [json.loads((tmp_path / name / "run.json").read_text()) for name in ("b", "c")]
    assert [record["status"] for record in records] == ["finished", "finished"]
    assert records[0]["started"] < records[1]["started"]  # in their order, on the new Ray
