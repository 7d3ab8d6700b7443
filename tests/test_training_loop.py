"""Tests of the training loop: the three backends learn, callbacks and the stop flag,
augmentation."""

import threading

import numpy as np
import pytest

from cnnviz import training
from cnnviz.nn import lenet


class Recorder(training.Callback):
    """Keeps every hook's logs; sets `stop` after batch `stop_after` when given."""

    def __init__(self, stop=None, stop_after=None):
        self.calls, self.stop, self.stop_after = [], stop, stop_after

    def on_train_begin(self, logs):
        self.calls.append(("begin", logs))

    def on_batch_end(self, batch, logs):
        self.calls.append(("batch", logs))
        batches = len([c for c in self.calls if c[0] == "batch"])
        if self.stop is not None and batches == self.stop_after:
            self.stop.set()

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch", logs))

    def on_train_end(self, logs):
        self.calls.append(("end", logs))


def _assert_learns(history):
    losses = [epoch["loss"] for epoch in history.epochs]
    assert len(losses) == 2 and np.all(np.isfinite(losses)) and losses[1] < losses[0]
    assert history.epochs[1]["val_accuracy"] > 0.5
    assert 0 <= history.test_accuracy <= 1 and history.test_accuracy > 0.5
    assert len(history.test_predictions) == 200


def test_train_numpy_and_tf1_learn_with_the_same_curves(small_mnist, tmp_path, small_config):
    numpy_run = training.train(small_config("numpy"), small_mnist).history
    tf1_result = training.train(small_config("tf1"), small_mnist, run_dir=tmp_path / "tf1")
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
    predictions = lenet.predict(params, training.as_inputs(small_mnist.x_test)).argmax(axis=1)
    assert np.mean(predictions == np.array(tf1_run.test_predictions)) > 0.99


@pytest.mark.tf
def test_train_keras_learns_and_reports_true_per_batch_values(small_mnist, small_config):
    history = training.train(small_config("keras"), small_mnist).history
    _assert_learns(history)
    # same start weights and batches: Keras' per-batch values, recovered from its running means,
    # match the NumPy network's first steps
    numpy_first = training.train(small_config("numpy", epochs=1), small_mnist).history.batches[:4]
    np.testing.assert_allclose([b["loss"] for b in history.batches[:4]],
                               [b["loss"] for b in numpy_first], rtol=5e-3)


@pytest.mark.tf
def test_train_keras_mlp_variant_runs(small_mnist, small_config):
    history = training.train(small_config("keras", model="mlp", epochs=1), small_mnist).history
    assert len(history.epochs) == 1 and np.isfinite(history.epochs[0]["loss"])


@pytest.mark.parametrize("backend", ["numpy", pytest.param("keras", marks=pytest.mark.tf)])
def test_train_stop_flag_halts_within_a_batch(small_mnist, backend, tmp_path, small_config):
    stop = threading.Event()
    recorder = Recorder(stop, stop_after=3)
    result = training.train(small_config(backend), small_mnist, [recorder], stop=stop,
                            run_dir=tmp_path / "r")
    assert [c[0] for c in recorder.calls].count("batch") == 3
    assert len(result.history.batches) == 3 and result.history.epochs == []
    assert result.history.stopped and recorder.calls[-1][0] == "end"
    assert training.load_run(tmp_path / "r").status == "stopped"


def test_train_callbacks_receive_batch_and_epoch_logs(small_mnist, small_config):
    recorder = Recorder()
    training.train(small_config("numpy"), small_mnist, [recorder])
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("epoch") == 2
    assert kinds.count("batch") == 24
    batch_logs = [logs for kind, logs in recorder.calls if kind == "batch"]
    assert {"epoch", "batch", "loss", "accuracy", "size", "seen", "total", "elapsed",
            "images_per_second"} <= set(batch_logs[-1])
    assert batch_logs[-1]["seen"] == batch_logs[-1]["total"] == 720
    assert batch_logs[0]["eta"] > 0 and batch_logs[-1]["eta"] == 0  # seconds left, at this speed
    epoch_logs = [logs for kind, logs in recorder.calls if kind == "epoch"]
    assert epoch_logs[0]["first_layer"].shape == (5, 5, 1, 6)
    assert not np.array_equal(epoch_logs[0]["first_layer"], epoch_logs[1]["first_layer"])


def test_shift_images_moves_whole_digits():
    X = np.zeros((50, 28, 28, 1), np.float32)
    X[:, 10:18, 10:18] = 1
    shifted = training.loop.shift_images(X, np.random.default_rng(0))
    assert shifted.shape == X.shape
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2, 3)), X.sum(axis=(1, 2, 3)))
    rows = [np.flatnonzero(image[:, :, 0].any(axis=1))[0] for image in shifted]
    assert set(rows) == {8, 9, 10, 11, 12}


def test_trainer_holds_out_the_data_splits_validation(small_mnist):
    from cnnviz.data import splits

    config = training.TrainConfig(backend="numpy", limit=300, seed=4)
    trainer = training.loop.Trainer(config, small_mnist, [], None)
    train_idx, val_idx = splits.split_indices(len(small_mnist.x_train), np.random.default_rng(4),
                                              limit=300)
    assert len(val_idx) == round(300 * splits.VALIDATION_FRACTION)
    np.testing.assert_array_equal(trainer.y_val, small_mnist.y_train[val_idx])
    np.testing.assert_array_equal(trainer.y_train, small_mnist.y_train[train_idx])
    np.testing.assert_array_equal(trainer.X_val, training.as_inputs(small_mnist.x_train[val_idx]))
