"""Tests of the runs folder: checkpoints, reading runs back, interrupted runs, run-folder names."""

import json
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cnnviz import training
from cnnviz.nn import lenet


def test_run_dir_keeps_history_and_a_loadable_checkpoint(small_mnist, tmp_path, small_config):
    run_dir = training.new_run_dir(small_config("numpy"), tmp_path)
    result = training.train(small_config("numpy"), small_mnist, run_dir=run_dir)
    saved = training.load_run(run_dir)
    assert saved.status == "finished" and saved.config == small_config("numpy")
    assert saved.history.epochs == result.history.epochs
    assert saved.history.test_accuracy == result.history.test_accuracy
    params, meta = lenet.load_params(saved.model_path)
    predictions = lenet.predict(params, training.as_inputs(small_mnist.x_test)).argmax(axis=1)
    assert predictions.tolist() == result.history.test_predictions  # the final weights were saved
    assert meta["epochs_done"] == 2 and meta["config"]["backend"] == "numpy"
    assert sorted(p.name for p in run_dir.iterdir()) == ["model.npz", "run.json"]  # no temp files
    assert [run.run_dir for run in training.list_runs(tmp_path)] == [run_dir]


def test_load_run_marks_a_killed_run_interrupted(small_mnist, tmp_path, small_config):
    stop, seen_while_running = threading.Event(), []

    class Peek(training.Callback):
        def on_epoch_end(self, epoch, logs):
            seen_while_running.append(training.load_run(tmp_path / "run").status)
            stop.set()

    training.train(small_config("numpy"), small_mnist, [Peek()], stop=stop,
                   run_dir=tmp_path / "run")
    assert seen_while_running == ["running"]  # its owner, this process, is alive
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["owner"] == training.runs.this_process()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    record["status"], record["owner"]["pid"] = "running", int(gone.stdout)  # a killed process's
    (tmp_path / "run" / "run.json").write_text(json.dumps(record))
    killed = training.load_run(tmp_path / "run")
    assert killed.status == "interrupted" and killed.model_path.is_file()


def test_list_runs_skips_unreadable_folders(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    assert training.list_runs(tmp_path) == []
    with pytest.raises(ValueError, match="run_dir"):
        training.load_run(tmp_path / "broken")


def test_saved_run_reads_start_time_and_token_from_its_folder_name(tmp_path, small_config):
    before = datetime.now(UTC).replace(microsecond=0)
    config = small_config("keras", model="lenet5-dropout", dataset="fashion-mnist")
    runs = [training.SavedRun(training.new_run_dir(config, tmp_path), config, "finished",
                              training.History(), None) for _ in range(2)]
    assert all(before <= run.started <= datetime.now(UTC) for run in runs)
    assert all(len(run.token) == 6 and run.run_dir.name.endswith(f"-{run.token}") for run in runs)
    assert runs[0].token != runs[1].token
    foreign = training.SavedRun(tmp_path / "my-run", config, "finished", training.History(), None)
    assert foreign.started is None and foreign.token == "run"


def test_a_live_record_is_live_while_its_owner_is(tmp_path):
    me = training.runs.this_process()
    assert training.runs.owner_alive(me) and not training.runs.owner_alive(None)
    assert not training.runs.owner_alive({**me, "since": (me["since"] or 0) + 1})  # a reused pid
    assert training.runs.owner_alive({**me, "host": "another-machine"})  # cannot tell: alive
    recorder = training.runs.RunRecorder(tmp_path / "run", training.TrainConfig(), "queued",
                                         submitted=1.5)
    record = training.runs.read_record(tmp_path / "run")
    assert record["status"] == "queued" and record["submitted"] == 1.5 and record["owner"] == me
    recorder.write_model(b"model bytes", training.History(), "running", eta_at=9.0)
    saved = training.load_run(tmp_path / "run")
    assert saved.status == "running" and saved.model_path.read_bytes() == b"model bytes"
    assert training.runs.read_record(tmp_path / "run")["submitted"] == 1.5  # facts are kept


def test_a_summary_keeps_what_a_list_shows_and_leaves_the_rows_in_the_folder(
        small_mnist, tmp_path, small_config):
    run_dir = training.new_run_dir(small_config("numpy"), tmp_path)
    training.train(small_config("numpy"), small_mnist, run_dir=run_dir)
    whole = training.load_run(run_dir)
    summary = whole.summary()
    assert whole.history.batches and whole.history.test_predictions  # the folder keeps them
    assert summary.history.batches == [] and summary.history.test_predictions is None
    assert summary.history.epochs == whole.history.epochs
    assert summary.history.test_accuracy == whole.history.test_accuracy
    assert ((summary.run_dir, summary.config, summary.status, summary.model_path)
            == (whole.run_dir, whole.config, whole.status, whole.model_path))
    assert training.load_run(run_dir).history.batches == whole.history.batches


def test_run_summaries_read_a_finished_record_once_while_it_is_unchanged(
        small_mnist, tmp_path, small_config, monkeypatch):
    config = small_config("numpy", epochs=1)
    done = training.new_run_dir(config, tmp_path)
    training.train(config, small_mnist, run_dir=done)
    live = tmp_path / "live"
    live.mkdir()
    record = json.loads((done / "run.json").read_text())
    (live / "run.json").write_text(json.dumps({**record, "status": "running",
                                               "owner": training.runs.this_process()}))
    reads, load = [], training.runs.load_run
    monkeypatch.setattr(training.runs, "load_run",
                        lambda run_dir: reads.append(Path(run_dir).name) or load(run_dir))
    listed = training.list_run_summaries(tmp_path)
    assert [(run.run_dir, run.status) for run in listed] == [(live, "running"),
                                                             (done, "finished")]
    assert listed[1].history.batches == [] and listed[1].history.epochs == record["history"][
        "epochs"]
    again = training.list_run_summaries(tmp_path)
    assert again[1] is listed[1] and reads == ["live", done.name, "live"]  # a live run: re-read
    (done / "run.json").write_text(json.dumps({**record, "error": "edited"}))
    assert training.list_run_summaries(tmp_path)[1].error == "edited"  # written again: re-read
    shutil.rmtree(done)
    assert [run.run_dir for run in training.list_run_summaries(tmp_path)] == [live]
    assert not any(path.parent == done for path in training.runs._SUMMARIES)  # forgotten
