"""Tests of the training core: three backends, callbacks, stop flag, runs folder, CLI."""

import json
import os
import signal
import threading
import time
import types

import numpy as np
import pytest

from cnnviz import lenet, train
from cnnviz.train import TrainConfig


@pytest.fixture(scope="module")
def small_mnist():
    """600 training and 200 test digits of the embedded MNIST, seeded."""
    with np.load(train.DEFAULT_RUNS_DIR.parent / "data" / "mnist_10k.npz") as archive:
        x, y = archive["x"], archive["y"]
    order = np.random.default_rng(0).permutation(len(x))
    return types.SimpleNamespace(x_train=x[order[:600]], y_train=y[order[:600]],
                                 x_test=x[order[600:800]], y_test=y[order[600:800]])


class Recorder(train.Callback):
    """Keeps every hook's logs; sets `stop` after batch `stop_after` when given."""

    def __init__(self, stop=None, stop_after=None):
        self.calls, self.stop, self.stop_after = [], stop, stop_after

    def on_train_begin(self, logs):
        self.calls.append(("begin", logs))

    def on_batch_end(self, batch, logs):
        self.calls.append(("batch", logs))
        if self.stop is not None and len([c for c in self.calls if c[0] == "batch"]) == self.stop_after:
            self.stop.set()

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch", logs))

    def on_train_end(self, logs):
        self.calls.append(("end", logs))


def _config(backend, **overrides):
    settings = {"epochs": 2, "batch_size": 32, "limit": 400, "seed": 3, **overrides}
    return TrainConfig(backend=backend, **settings)


def _assert_learns(history):
    losses = [epoch["loss"] for epoch in history.epochs]
    assert len(losses) == 2 and np.all(np.isfinite(losses)) and losses[1] < losses[0]
    assert history.epochs[1]["val_accuracy"] > 0.5
    assert 0 <= history.test_accuracy <= 1 and history.test_accuracy > 0.5
    assert len(history.test_predictions) == 200


def test_train_numpy_and_tf1_learn_with_the_same_curves(small_mnist, tmp_path):
    numpy_run = train.train(_config("numpy"), small_mnist).history
    tf1_result = train.train(_config("tf1"), small_mnist, run_dir=tmp_path / "tf1")
    tf1_run = tf1_result.history
    _assert_learns(numpy_run)
    _assert_learns(tf1_run)
    assert len(numpy_run.batches) == 2 * 12  # 360 training images in batches of 32
    np.testing.assert_allclose([b["loss"] for b in tf1_run.batches],
                               [b["loss"] for b in numpy_run.batches], rtol=2e-3)
    np.testing.assert_allclose([e["val_loss"] for e in tf1_run.epochs],
                               [e["val_loss"] for e in numpy_run.epochs], rtol=2e-3)
    assert numpy_run.images_per_second > 0 and numpy_run.wall_time > 0
    params, meta = lenet.load_params(tf1_result.model_path)  # TF1 saves the NumPy model format
    assert tf1_result.model_path.name == "model.npz" and meta["config"]["backend"] == "tf1"
    predictions = lenet.predict(params, train.as_inputs(small_mnist.x_test)).argmax(axis=1)
    assert np.mean(predictions == np.array(tf1_run.test_predictions)) > 0.99


@pytest.mark.tf
def test_train_keras_learns_and_reports_true_per_batch_values(small_mnist):
    history = train.train(_config("keras"), small_mnist).history
    _assert_learns(history)
    # same start weights and batches: Keras' per-batch values, recovered from its running means,
    # match the NumPy network's first steps
    numpy_first = train.train(_config("numpy", epochs=1), small_mnist).history.batches[:4]
    np.testing.assert_allclose([b["loss"] for b in history.batches[:4]],
                               [b["loss"] for b in numpy_first], rtol=5e-3)


@pytest.mark.tf
def test_train_keras_mlp_variant_runs(small_mnist):
    history = train.train(_config("keras", model="mlp", epochs=1), small_mnist).history
    assert len(history.epochs) == 1 and np.isfinite(history.epochs[0]["loss"])


@pytest.mark.parametrize("backend", ["numpy", pytest.param("keras", marks=pytest.mark.tf)])
def test_train_stop_flag_halts_within_a_batch(small_mnist, backend, tmp_path):
    stop = threading.Event()
    recorder = Recorder(stop, stop_after=3)
    result = train.train(_config(backend), small_mnist, [recorder], stop=stop, run_dir=tmp_path / "r")
    assert [c[0] for c in recorder.calls].count("batch") == 3
    assert len(result.history.batches) == 3 and result.history.epochs == []
    assert result.history.stopped and recorder.calls[-1][0] == "end"
    assert train.load_run(tmp_path / "r").status == "stopped"


def test_train_callbacks_receive_batch_and_epoch_logs(small_mnist):
    recorder = Recorder()
    train.train(_config("numpy"), small_mnist, [recorder])
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("epoch") == 2
    assert kinds.count("batch") == 24
    batch_logs = [logs for kind, logs in recorder.calls if kind == "batch"]
    assert {"epoch", "batch", "loss", "accuracy", "size", "seen", "total", "elapsed",
            "images_per_second"} <= set(batch_logs[-1])
    assert batch_logs[-1]["seen"] == batch_logs[-1]["total"] == 720
    epoch_logs = [logs for kind, logs in recorder.calls if kind == "epoch"]
    assert epoch_logs[0]["first_layer"].shape == (5, 5, 1, 6)
    assert not np.array_equal(epoch_logs[0]["first_layer"], epoch_logs[1]["first_layer"])


def test_run_dir_keeps_history_and_a_loadable_checkpoint(small_mnist, tmp_path):
    run_dir = train.new_run_dir(_config("numpy"), tmp_path)
    result = train.train(_config("numpy"), small_mnist, run_dir=run_dir)
    saved = train.load_run(run_dir)
    assert saved.status == "finished" and saved.config == _config("numpy")
    assert saved.history.epochs == result.history.epochs
    assert saved.history.test_accuracy == result.history.test_accuracy
    params, meta = lenet.load_params(saved.model_path)
    predictions = lenet.predict(params, train.as_inputs(small_mnist.x_test)).argmax(axis=1)
    assert predictions.tolist() == result.history.test_predictions  # the final weights were saved
    assert meta["epochs_done"] == 2 and meta["config"]["backend"] == "numpy"
    assert sorted(p.name for p in run_dir.iterdir()) == ["model.npz", "run.json"]  # no temp files
    assert [run.run_dir for run in train.list_runs(tmp_path)] == [run_dir]


def test_load_run_marks_a_killed_run_interrupted(small_mnist, tmp_path):
    stop, seen_while_running = threading.Event(), []

    class Peek(train.Callback):
        def on_epoch_end(self, epoch, logs):
            seen_while_running.append(train.load_run(tmp_path / "run").status)
            stop.set()

    train.train(_config("numpy"), small_mnist, [Peek()], stop=stop, run_dir=tmp_path / "run")
    assert seen_while_running == ["running"]
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    record["status"] = "running"  # what a killed process leaves behind
    (tmp_path / "run" / "run.json").write_text(json.dumps(record))
    killed = train.load_run(tmp_path / "run")
    assert killed.status == "interrupted" and killed.model_path.is_file()


def test_list_runs_skips_unreadable_folders(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    assert train.list_runs(tmp_path) == []
    with pytest.raises(ValueError, match="run_dir"):
        train.load_run(tmp_path / "broken")


@pytest.mark.parametrize("field, value, message", [
    ("backend", "torch", "backend must be one of"),
    ("model", "mlp", "model must be one of"),
    ("epochs", 0, "epochs must be a positive integer"),
    ("learning_rate", -1.0, "learning_rate must be > 0"),
    ("limit", 1, "limit must be None or an integer >= 2"),
])
def test_config_validate_names_the_bad_field(field, value, message):
    config = TrainConfig(backend="numpy")
    setattr(config, field, value)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_shift_images_moves_whole_digits():
    X = np.zeros((50, 28, 28, 1), np.float32)
    X[:, 10:18, 10:18] = 1
    shifted = train.shift_images(X, np.random.default_rng(0))
    assert shifted.shape == X.shape
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2, 3)), X.sum(axis=(1, 2, 3)))
    rows = [np.flatnonzero(image[:, :, 0].any(axis=1))[0] for image in shifted]
    assert set(rows) == {8, 9, 10, 11, 12}


def test_history_to_csv_has_one_row_per_epoch():
    history = train.History(epochs=[{"epoch": 0, "loss": 1.5}, {"epoch": 1, "loss": 0.5}])
    assert history.to_csv() == "epoch,loss\n0,1.5\n1,0.5\n"
    assert train.History().to_csv("batch") == "epoch\n"


def test_format_seconds():
    assert train.format_seconds(65) == "1:05"
    assert train.format_seconds(3725) == "1:02:05"


def test_cli_trains_saves_and_prints_a_json_summary(tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = train.main(["--backend", "numpy", "--dataset", "mnist", "--epochs", "1", "--batch-size", "50",
                       "--limit", "300", "--seed", "1", "--out", str(out), "--runs-dir",
                       str(tmp_path / "runs"), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["backend"] == "numpy" and len(summary["epochs"]) == 1
    assert 0 < summary["test_accuracy"] <= 1 and summary["images_per_second"] > 0
    assert summary["model_path"] == str(out)
    assert "ETA" in captured.err and "100%" in captured.err
    lenet.load_params(out)
    assert len(train.list_runs(tmp_path / "runs")) == 1


def test_cli_rejects_a_wrong_model_suffix(tmp_path, capsys):
    code = train.main(["--backend", "numpy", "--out", str(tmp_path / "model.keras"), "--limit", "100",
                       "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "out must end with .npz" in capsys.readouterr().err


def test_background_run_trains_off_thread_and_reports_errors(small_mnist):
    job = train.BackgroundRun(_config("numpy", epochs=1), small_mnist)
    job.join(60)
    assert job.done and job.error is None and job.result.history.test_accuracy is not None
    live = job.snapshot()
    assert len(live["batches"]) == 12 and len(live["epochs"]) == 1
    assert live["first_layer"].shape == (5, 5, 1, 6) and live["progress"]["seen"] == 360
    tiny = types.SimpleNamespace(x_train=small_mnist.x_train[:1], y_train=small_mnist.y_train[:1],
                                 x_test=small_mnist.x_test, y_test=small_mnist.y_test)
    failed = train.BackgroundRun(_config("numpy", limit=None), tiny)
    failed.join(60)
    assert failed.result is None and "leaves no training images" in failed.error


def test_background_run_trains_in_its_own_process_and_stops_on_request(small_mnist, tmp_path):
    job = train.BackgroundRun(_config("numpy", epochs=50), small_mnist, tmp_path / "run")
    assert job._process.pid != os.getpid()
    while not job.snapshot()["batches"]:
        assert not job.done, job.error
        time.sleep(0.05)
    assert train.load_run(tmp_path / "run").status == "running"  # this process knows it is alive
    # the server's pages come first: training runs at a lower CPU priority
    assert (os.getpriority(os.PRIO_PROCESS, job._process.pid)
            == min(19, os.getpriority(os.PRIO_PROCESS, 0) + train.TRAINING_NICENESS))
    job.stop()
    job.join(60)
    assert job.done and job.error is None and job.result.history.stopped
    assert len(job.result.history.epochs) < 50 and train.load_run(tmp_path / "run").status == "stopped"


def test_background_run_reports_a_killed_training_process(small_mnist, tmp_path):
    job = train.BackgroundRun(_config("numpy", epochs=50), small_mnist, tmp_path / "run")
    while not job.snapshot()["batches"]:
        time.sleep(0.05)
    os.kill(job._process.pid, signal.SIGKILL)
    job.join(30)
    assert job.done and job.result is None and "ended unexpectedly" in job.error
    assert train.load_run(tmp_path / "run").status == "interrupted"
