"""Train LeNet-5 with Keras, TF1 or cnnviz's own NumPy ops behind one interface, and the train CLI.

    result = train(TrainConfig(backend="numpy", epochs=3), load_dataset("mnist"), [my_callback])

Callbacks speak Keras' vocabulary (`on_batch_end(batch, logs)`, `on_epoch_end(epoch, logs)`); a
`threading.Event` (or anything with `is_set()`) passed as `stop` is checked after every batch.
The NumPy and TF1 backends start from the same weights (`cnnviz.lenet.init_params(seed)`, also used
by the Keras LeNet-5) and see the batches in the same order, so one seed gives the same curves.
`BackgroundRun`, the training page's run, trains in a child process and replays its progress here.

Runs folder: with `run_dir`, the run writes `run.json` (config, status, history) and its model file
(`model.keras` or `model.npz`, the cnnviz-lenet5 format of cnnviz.lenet) after every epoch, each
atomically (temp file + os.replace), so a stop or a crash loses at most the current epoch.
"""

import argparse
import csv
import functools
import io
import json
import multiprocessing
import os
import queue
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cnnviz import lenet
from cnnviz.blas import limit_blas_threads

BACKENDS = ("keras", "tf1", "numpy")
KERAS_MODEL_NAMES = ("lenet5", "lenet5-dropout", "lenet5-batchnorm", "mlp")  # models.KERAS_MODELS
LENET_WEIGHT_LAYOUT = ("lenet5", "lenet5-dropout")  # Keras models whose weights match init_params
DEFAULT_RUNS_DIR = Path(__file__).resolve().parents[1] / "runs"
TRAINING_NICENESS = 10  # BackgroundRun's process yields the CPU to the server's pages
_ACTIVE_RUN_DIRS: set = set()  # run folders this process is training right now


@dataclass
class TrainConfig:
    """What to train and how; `validate()` raises ValueError naming the bad field."""

    backend: str = "keras"  # "keras", "tf1" or "numpy"
    model: str = "lenet5"  # Keras: one of KERAS_MODEL_NAMES; TF1 and NumPy: "lenet5" only
    dataset: str = "mnist"  # name for cnnviz.data.load_dataset, recorded with the run
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 0.001  # Adam
    limit: int | None = None  # training images used, validation included (None: all)
    validation_fraction: float = 0.1  # held out of the training images, seeded
    seed: int = 0  # initial weights, validation split and batch order
    augment: bool = False  # random shifts of up to 2 pixels, redrawn every epoch

    def validate(self) -> "TrainConfig":
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        models = KERAS_MODEL_NAMES if self.backend == "keras" else ("lenet5",)
        if self.model not in models:
            raise ValueError(f"model must be one of {models} for the {self.backend} backend, "
                             f"got {self.model!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 2):
            raise ValueError(f"limit must be None or an integer >= 2, got {self.limit!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        return self

    @property
    def model_suffix(self) -> str:
        return ".keras" if self.backend == "keras" else ".npz"


@dataclass
class History:
    """Per-batch and per-epoch metrics of one run, JSON-serialisable.

    batches: {"epoch", "batch", "loss", "accuracy", "size"} per batch; epochs: {"epoch", "loss",
    "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_second"} per finished epoch.
    """

    batches: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    test_loss: float | None = None
    test_accuracy: float | None = None
    test_predictions: list[int] | None = None  # predicted class of every test image
    wall_time: float = 0.0  # seconds, evaluation and saving included
    images_per_second: float = 0.0  # training images per second of training steps
    stopped: bool = False

    def to_csv(self, level: str = "epoch") -> str:
        """The "epoch" or "batch" rows as CSV text."""
        rows = {"epoch": self.epochs, "batch": self.batches}[level]
        columns = list(rows[0]) if rows else ["epoch"]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**data)


@dataclass
class TrainResult:
    config: TrainConfig
    history: History
    model_path: Path | None  # the saved model (run_dir or out), None when nothing was saved
    run_dir: Path | None


class Callback:
    """Base class: override the hooks you need. logs are plain dicts of floats (and arrays)."""

    def on_train_begin(self, logs: dict) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, logs: dict) -> None: ...


# ---------------------------------------------------------------------------------------- backends


class NumpyBackend:
    """LeNet-5 on cnnviz.ops, Adam in NumPy, OpenBLAS on one thread while it trains."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.params = lenet.init_params(config.seed)
        self.optimizer = lenet.Adam(self.params, learning_rate=config.learning_rate)
        self._restore_blas_threads = limit_blas_threads(1)

    def train_batch(self, X, labels) -> tuple[float, float]:
        return lenet.train_step(self.params, self.optimizer, X, labels)

    def predict(self, X) -> np.ndarray:
        return lenet.predict(self.params, X)

    def first_layer(self) -> np.ndarray:
        return self.params["conv1_W"].copy()

    def save(self, path: Path, meta: dict) -> None:
        lenet.save_params(path, self.params, meta)

    def close(self) -> None:
        self._restore_blas_threads()


class TF1Backend(NumpyBackend):
    """models.lenet5_tf1 in its own graph and session, started from lenet.init_params(seed)."""

    def __init__(self, config: TrainConfig):
        import tensorflow as tf

        from cnnviz.models import lenet5_tf1

        self.config, graph = config, tf.Graph()
        with graph.as_default():
            tf.compat.v1.set_random_seed(config.seed)
            self.x = tf.compat.v1.placeholder(tf.float32, (None, 28, 28, 1), name="x")
            self.y = tf.compat.v1.placeholder(tf.float32, (None, 10), name="y")
            self.y_pred, self.train_op, self.loss, self.accuracy = lenet5_tf1(
                self.x, self.y, config.learning_rate
            )
            self.variables = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
            start = lenet.init_params(config.seed)  # same weights as the NumPy backend
            start_feed = {v.initial_value: start[name] for name, v in self.variables.items()}
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=graph)
        self.session.run(init, start_feed)

    def train_batch(self, X, labels) -> tuple[float, float]:
        _, loss, accuracy = self.session.run(
            [self.train_op, self.loss, self.accuracy], {self.x: X, self.y: _one_hot(labels)}
        )
        return float(loss), float(accuracy)

    def predict(self, X) -> np.ndarray:
        return np.concatenate([self.session.run(self.y_pred, {self.x: X[i : i + 1000]})
                               for i in range(0, len(X), 1000)])

    @property
    def params(self) -> dict:
        """The variables' current values, keyed like lenet.init_params (for first_layer and save)."""
        return self.session.run(self.variables)

    def close(self) -> None:
        self.session.close()


class KerasBackend:
    """A models.KERAS_MODELS network trained with model.fit, one fit call per epoch."""

    def __init__(self, config: TrainConfig):
        import keras

        from cnnviz.models import KERAS_MODELS

        keras.utils.set_random_seed(config.seed)  # dropout masks
        self.config = config
        self.model = KERAS_MODELS[config.model](keras.Input((28, 28, 1)), config.learning_rate)
        if config.model in LENET_WEIGHT_LAYOUT:  # same start as the NumPy and TF1 backends
            start = lenet.init_params(config.seed)
            weighted = [layer for layer in self.model.layers if layer.weights]
            for layer, name in zip(weighted, ("conv1", "conv2", "fc1", "fc2", "out")):
                layer.set_weights([start[f"{name}_W"], start[f"{name}_b"].reshape(-1)])

    def train_epoch(self, X, labels, batch_size, on_batch) -> None:
        """model.fit over X (already in batch order); on_batch(loss, accuracy, size) -> stop?"""
        adapter = _keras_batch_adapter_class()(on_batch, batch_size, len(X))
        self.model.fit(X, _one_hot(labels), batch_size=batch_size, epochs=1, shuffle=False,
                       verbose=0, callbacks=[adapter])

    def predict(self, X) -> np.ndarray:
        return self.model.predict(X, batch_size=1000, verbose=0)

    def first_layer(self) -> np.ndarray:
        """Kernel of the first layer: conv (5, 5, 1, 6), or a dense layer's first 16 units as
        28x28 images (28, 28, 1, 16)."""
        kernel = next(layer for layer in self.model.layers if layer.weights).get_weights()[0]
        return kernel if kernel.ndim == 4 else kernel[:, :16].reshape(28, 28, 1, -1)

    def save(self, path: Path, meta: dict) -> None:
        _replace_atomically(path, self.model.save)

    def close(self) -> None: ...


@functools.cache
def _keras_batch_adapter_class():
    import keras

    class KerasBatchAdapter(keras.callbacks.Callback):
        """Turns Keras' running epoch means back into per-batch values and forwards them."""

        def __init__(self, on_batch, batch_size, n):
            super().__init__()
            self.on_batch, self.batch_size, self.n = on_batch, batch_size, n
            self.seen, self.loss_sum, self.correct = 0, 0.0, 0.0

        def on_train_batch_end(self, batch, logs=None):
            size = min(self.batch_size, self.n - self.seen)
            seen = self.seen + size
            loss_sum, correct = logs["loss"] * seen, logs["accuracy"] * seen
            loss, accuracy = (loss_sum - self.loss_sum) / size, (correct - self.correct) / size
            self.seen, self.loss_sum, self.correct = seen, loss_sum, correct
            if self.on_batch(loss, min(max(accuracy, 0.0), 1.0), size):
                self.model.stop_training = True

    return KerasBatchAdapter


def make_backend(config: TrainConfig):
    return {"keras": KerasBackend, "tf1": TF1Backend, "numpy": NumpyBackend}[config.backend](config)


# -------------------------------------------------------------------------------------- training


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype=np.float32)[labels]


def as_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 images (m, 28, 28) -> float32 network inputs (m, 28, 28, 1) in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / 255)[..., None]


def shift_images(X: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Each image of X (m, 28, 28, 1) moved by a random whole-pixel offset in [-max_shift, max_shift]."""
    padded = np.pad(X, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)))
    offsets = rng.integers(0, 2 * max_shift + 1, size=(len(X), 2))
    shifted = np.empty_like(X)
    for dy in range(2 * max_shift + 1):
        for dx in range(2 * max_shift + 1):
            chosen = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
            shifted[chosen] = padded[chosen, dy : dy + 28, dx : dx + 28]
    return shifted


def split_indices(n: int, config: TrainConfig, rng: np.random.Generator):
    """(train indices, validation indices) of the first `limit` images of a seeded permutation."""
    order = rng.permutation(n)[: config.limit or n]
    n_val = max(1, round(config.validation_fraction * len(order)))
    if len(order) - n_val < 1:
        raise ValueError(f"limit {config.limit} leaves no training images; use a larger limit")
    return order[n_val:], order[:n_val]


def _loss_and_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1)
    return float(-np.log(picked).mean()), float((probs.argmax(axis=1) == labels).mean())


def train(config: TrainConfig, dataset, callbacks=(), *, stop=None, run_dir=None,
          out=None) -> TrainResult:
    """Train config.model on dataset (.x_train, .y_train, .x_test, .y_test) and return the result.

    callbacks: Callback objects; stop: a threading.Event (or anything with is_set()) checked after
    every batch; run_dir: folder that receives run.json and the model after every epoch; out: where
    to save the final model too.
    """
    config.validate()
    if out is not None and Path(out).suffix != config.model_suffix:
        raise ValueError(f"out must end with {config.model_suffix} for the {config.backend} backend, "
                         f"got {out}")
    return Trainer(config, dataset, list(callbacks), stop, run_dir).run(out)


class Trainer:
    """One run's state: data split, backend, history, progress counters."""

    def __init__(self, config, dataset, callbacks, stop, run_dir):
        self.config, self.dataset, self.callbacks, self.stop = config, dataset, callbacks, stop
        self.rng = np.random.default_rng(config.seed)
        train_idx, val_idx = split_indices(len(dataset.x_train), config, self.rng)
        X_all, y_all = as_inputs(dataset.x_train), np.asarray(dataset.y_train, dtype=np.int64)
        self.X_train, self.y_train = X_all[train_idx], y_all[train_idx]
        self.X_val, self.y_val = X_all[val_idx], y_all[val_idx]
        self.recorder = _RunRecorder(Path(run_dir), config) if run_dir is not None else None
        self.history = History()
        self.total = config.epochs * len(self.X_train)
        self.seen, self.training_seconds, self.started = 0, 0.0, time.perf_counter()
        self.epoch, self.epoch_rows, self.epoch_start = 0, [], 0.0

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def on_batch(self, loss, accuracy, size) -> bool:
        """Record one batch, tell the callbacks; True when the stop flag is set."""
        self.seen += size
        row = {"epoch": self.epoch, "batch": len(self.epoch_rows), "loss": float(loss),
               "accuracy": float(accuracy), "size": int(size)}
        self.epoch_rows.append(row)
        elapsed = self.training_seconds + time.perf_counter() - self.epoch_start
        logs = {**row, "seen": self.seen, "total": self.total, "elapsed": elapsed,
                "images_per_second": self.seen / max(elapsed, 1e-9)}
        for callback in self.callbacks:
            callback.on_batch_end(row["batch"], logs)
        return self.stopped()

    def run(self, out) -> TrainResult:
        """Train, test, save; on any error the run's record says "failed" and the error goes on."""
        run_dir = self.recorder.run_dir if self.recorder else None
        active_key = run_dir.resolve() if run_dir else None
        _ACTIVE_RUN_DIRS.add(active_key)
        try:
            backend = make_backend(self.config)
            try:
                model_path = self.train_and_test(backend, out)
            finally:
                backend.close()
        except BaseException as error:
            if self.recorder:
                self.recorder.write_status("failed", self.history, error=str(error))
            raise
        finally:
            _ACTIVE_RUN_DIRS.discard(active_key)
        history = self.history
        end_logs = {"test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
                    "stopped": history.stopped, "wall_time": history.wall_time}
        for callback in self.callbacks:
            callback.on_train_end(end_logs)
        return TrainResult(self.config, history, model_path, run_dir)

    def train_and_test(self, backend, out) -> Path | None:
        """Epochs until done or stopped, then the test set; returns the saved model's path."""
        history = self.history
        begin_logs = {"train_images": len(self.X_train), "validation_images": len(self.X_val),
                      "total": self.total}
        for callback in self.callbacks:
            callback.on_train_begin(begin_logs)
        for epoch in range(self.config.epochs):
            self.epoch = epoch
            if not self.run_epoch(backend) or self.stopped():
                break
        history.stopped = self.stopped()
        probs = backend.predict(as_inputs(self.dataset.x_test))
        y_test = np.asarray(self.dataset.y_test, dtype=np.int64)
        history.test_loss, history.test_accuracy = _loss_and_accuracy(probs, y_test)
        history.test_predictions = probs.argmax(axis=1).tolist()
        history.images_per_second = self.seen / max(self.training_seconds, 1e-9)
        history.wall_time = time.perf_counter() - self.started
        model_path = None
        if self.recorder:
            status = "stopped" if history.stopped else "finished"
            model_path = self.recorder.checkpoint(backend, history, status)
        if out is not None:
            backend.save(Path(out), _meta(self.config, history))
            model_path = Path(out)
        return model_path

    def run_epoch(self, backend) -> bool:
        """Train one epoch, validate, checkpoint; False when stopped before its last batch."""
        order = self.rng.permutation(len(self.X_train))
        X_epoch = self.X_train[order]
        if self.config.augment:
            X_epoch = shift_images(X_epoch, self.rng)
        self.epoch_start, self.epoch_rows = time.perf_counter(), []
        run_epoch_batches(backend, X_epoch, self.y_train[order], self.config.batch_size, self.on_batch)
        seconds = time.perf_counter() - self.epoch_start
        self.training_seconds += seconds
        rows, history = self.epoch_rows, self.history
        history.batches.extend(rows)
        sizes = np.array([row["size"] for row in rows])
        if sizes.sum() < len(self.X_train):
            return False  # a partial epoch is not an epoch: its batches stay, no epoch row
        val_loss, val_accuracy = _loss_and_accuracy(backend.predict(self.X_val), self.y_val)
        epoch_logs = {
            "epoch": self.epoch,
            "loss": float(np.average([row["loss"] for row in rows], weights=sizes)),
            "accuracy": float(np.average([row["accuracy"] for row in rows], weights=sizes)),
            "val_loss": val_loss, "val_accuracy": val_accuracy, "seconds": seconds,
            "images_per_second": float(sizes.sum() / seconds),
        }
        history.epochs.append(epoch_logs)
        history.images_per_second = self.seen / self.training_seconds
        history.wall_time = time.perf_counter() - self.started
        if self.recorder:
            self.recorder.checkpoint(backend, history, "running")
        for callback in self.callbacks:
            callback.on_epoch_end(self.epoch, {**epoch_logs, "first_layer": backend.first_layer()})
        return True


def run_epoch_batches(backend, X, labels, batch_size, on_batch) -> None:
    """One pass over X in order, batch by batch, until on_batch(loss, accuracy, size) says stop."""
    if isinstance(backend, KerasBackend):
        backend.train_epoch(X, labels, batch_size, on_batch)
        return
    for start in range(0, len(X), batch_size):
        batch = slice(start, start + batch_size)
        loss, accuracy = backend.train_batch(X[batch], labels[batch])
        if on_batch(loss, accuracy, len(labels[batch])):
            return


def _meta(config: TrainConfig, history: History) -> dict:
    return {"config": asdict(config), "test_accuracy": history.test_accuracy,
            "epochs_done": len(history.epochs)}


# ------------------------------------------------------------------------------------ runs folder


def _replace_atomically(path: Path, write) -> None:
    """write(temp_path) next to path, then os.replace it onto path (temp keeps path's suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(temp)
        os.chmod(temp, 0o644)  # mkstemp makes 0600 files; a model is meant to be shared
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_text_atomically(path: Path, text: str) -> None:
    _replace_atomically(path, lambda temp: Path(temp).write_text(text))


def new_run_dir(config: TrainConfig, root=None) -> Path:
    """A fresh folder root/<UTC time>-<backend>-<model>-<dataset>-<random> (created)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name = f"{stamp}-{config.backend}-{config.model}-{config.dataset}-{secrets.token_hex(3)}"
    run_dir = Path(root or DEFAULT_RUNS_DIR) / name
    run_dir.mkdir(parents=True)
    return run_dir


class _RunRecorder:
    """Writes run.json and the model file of one run into run_dir, atomically."""

    def __init__(self, run_dir: Path, config: TrainConfig):
        self.run_dir, self.config = run_dir, config
        self.model_path = run_dir / f"model{config.model_suffix}"
        self.write_status("running", History())

    def meta(self, history: History) -> dict:
        return {**_meta(self.config, history), "run": self.run_dir.name}

    def write_status(self, status: str, history: History, error: str | None = None) -> None:
        record = {"config": asdict(self.config), "status": status, "error": error,
                  "model_file": self.model_path.name if self.model_path.exists() else None,
                  "history": asdict(history)}
        _write_text_atomically(self.run_dir / "run.json", json.dumps(record))

    def checkpoint(self, backend, history: History, status: str) -> Path:
        backend.save(self.model_path, self.meta(history))
        self.write_status(status, history)
        return self.model_path


@dataclass
class SavedRun:
    """A run read back from the runs folder."""

    run_dir: Path
    config: TrainConfig
    status: str  # "running" (in this process), "finished", "stopped", "failed" or "interrupted"
    history: History
    model_path: Path | None
    error: str | None = None


def load_run(run_dir) -> SavedRun:
    """The run saved in run_dir; ValueError when its run.json is missing or unreadable."""
    run_dir = Path(run_dir)
    try:
        record = json.loads((run_dir / "run.json").read_text())
        config = TrainConfig(**record["config"])
        history = History.from_dict(record["history"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"run_dir {run_dir} holds no readable run.json ({error})") from error
    model_path = run_dir / record["model_file"] if record.get("model_file") else None
    status = record["status"]
    if status == "running" and run_dir.resolve() not in _ACTIVE_RUN_DIRS:
        status = "interrupted"  # killed, or its server stopped: the last epoch's checkpoint remains
    return SavedRun(run_dir, config, status, history, model_path, record.get("error"))


def list_runs(root=None) -> list[SavedRun]:
    """Readable runs under root (default: the repository's runs/), newest first."""
    root = Path(root or DEFAULT_RUNS_DIR)
    runs = []
    for run_dir in sorted(root.glob("*/run.json"), reverse=True):
        try:
            runs.append(load_run(run_dir.parent))
        except ValueError:
            continue  # a half-written or foreign folder is not a run
    return runs


# ------------------------------------------------------------------------------- background runs


class LiveState(Callback):
    """Collects a run's progress for another thread to read: the training page's callback."""

    def __init__(self):
        self._lock = threading.Lock()
        self._batches, self._epochs, self._first_layer, self._progress = [], [], None, {}

    def on_batch_end(self, batch: int, logs: dict) -> None:
        with self._lock:
            self._batches.append({"loss": logs["loss"], "accuracy": logs["accuracy"]})
            self._progress = logs

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        with self._lock:
            self._epochs.append({k: v for k, v in logs.items() if k != "first_layer"})
            self._first_layer = logs["first_layer"]

    def snapshot(self) -> dict:
        """Copies of the live state: batches and epochs rows, first_layer, last batch logs."""
        with self._lock:
            return {"batches": list(self._batches), "epochs": list(self._epochs),
                    "first_layer": self._first_layer, "progress": dict(self._progress)}


class BackgroundRun(LiveState):
    """train() in a child process of its own; a page polls snapshot() and may call stop().

    The child reports every batch and epoch through a queue and a monitor thread here replays them
    into the live state, so training holds no lock of the server process (Python's GIL): the
    explorer stays fast while Keras trains. One object per browser session: runs share nothing.
    """

    def __init__(self, config: TrainConfig, dataset, run_dir=None):
        super().__init__()
        self.config = config.validate()
        self.result: TrainResult | None = None
        self.error: str | None = None
        context = multiprocessing.get_context("spawn")  # never fork a process that runs TensorFlow
        self._stop, self._reports = context.Event(), context.Queue()
        self._process = context.Process(
            target=_train_and_report, name=f"cnnviz-train-{config.backend}", daemon=True,
            args=(config, dataset, run_dir, self._reports, self._stop, os.getpid()))
        self._active_key = Path(run_dir).resolve() if run_dir is not None else None
        _ACTIVE_RUN_DIRS.add(self._active_key)
        self._process.start()
        self._monitor = threading.Thread(target=self._follow, daemon=True, name="cnnviz-train-monitor")
        self._monitor.start()

    def _follow(self) -> None:
        """Replay the child's reports until its result or error arrives, or it dies without one."""
        try:
            while True:
                try:
                    kind, payload = self._reports.get(timeout=0.5 if self._process.is_alive() else 2)
                except queue.Empty:
                    if self._process.is_alive():
                        continue
                    code = self._process.exitcode
                    self.error = f"the training process ended unexpectedly (exit code {code})"
                    return
                if kind == "batch":
                    self.on_batch_end(payload["batch"], payload)
                elif kind == "epoch":
                    self.on_epoch_end(payload["epoch"], payload)
                elif kind == "result":
                    self.result = payload
                    return
                else:
                    self.error = payload
                    return
        finally:
            self._process.join(5)
            _ACTIVE_RUN_DIRS.discard(self._active_key)

    def stop(self) -> None:
        """Ask the worker to stop after the current batch."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return not self._monitor.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._monitor.join(timeout)


class QueueReporter(Callback):
    """In the training process: sends each batch's and epoch's logs to the parent."""

    def __init__(self, reports):
        self.reports = reports

    def on_batch_end(self, batch: int, logs: dict) -> None:
        self.reports.put(("batch", logs))

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.reports.put(("epoch", logs))


class _StopFlag:
    """The parent's stop event, also set once the parent is gone: a killed server leaves no orphan."""

    def __init__(self, event, parent_pid: int):
        self.event, self.parent_pid = event, parent_pid

    def is_set(self) -> bool:
        return self.event.is_set() or os.getppid() != self.parent_pid


def _train_and_report(config, dataset, run_dir, reports, stop, parent_pid) -> None:
    """The training process: train(), then put ("result", TrainResult) or ("error", message).

    It runs at a lower CPU priority, so the server's pages come first when the cores are busy.
    """
    os.nice(TRAINING_NICENESS)
    try:
        result = train(config, dataset, [QueueReporter(reports)], stop=_StopFlag(stop, parent_pid),
                       run_dir=run_dir)
    except Exception as error:  # noqa: BLE001 - the parent shows it on the page
        reports.put(("error", f"{type(error).__name__}: {error}"))
    else:
        reports.put(("result", result))


# -------------------------------------------------------------------------------------------- CLI


class ProgressBar(Callback):
    """Terminal progress: bar, percent, images/s, ETA, last loss; redrawn at most 10 times a second."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width, self.last_draw = stream or sys.stderr, width, 0.0

    def on_batch_end(self, batch: int, logs: dict) -> None:
        now = time.perf_counter()
        if now - self.last_draw < 0.1 and logs["seen"] < logs["total"]:
            return
        self.last_draw = now
        done = logs["seen"] / logs["total"]
        filled = int(done * self.width)
        eta = (logs["total"] - logs["seen"]) / max(logs["images_per_second"], 1e-9)
        self.stream.write(
            f"\repoch {logs['epoch'] + 1} [{'#' * filled}{'.' * (self.width - filled)}] {done:4.0%} "
            f"{logs['images_per_second']:6.0f} img/s  ETA {format_seconds(eta)}  loss {logs['loss']:.3f}"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.stream.write(
            f"\nepoch {epoch + 1}: loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
            f"val_loss {logs['val_loss']:.4f} val_acc {logs['val_accuracy']:.4f} "
            f"({logs['seconds']:.1f} s)\n"
        )


def format_seconds(seconds: float) -> str:
    """3725 -> '1:02:05', 65 -> '1:05'."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def summary(result: TrainResult) -> dict:
    """The --json line: per-epoch metrics, test accuracy, images per second, where things went."""
    history = result.history
    return {
        "backend": result.config.backend, "model": result.config.model,
        "dataset": result.config.dataset, "epochs": history.epochs,
        "test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
        "images_per_second": history.images_per_second, "wall_time": history.wall_time,
        "stopped": history.stopped,
        "model_path": str(result.model_path) if result.model_path else None,
        "run_dir": str(result.run_dir) if result.run_dir else None,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m cnnviz train", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default=defaults.backend)
    parser.add_argument("--model", choices=KERAS_MODEL_NAMES, default=defaults.model,
                        help="Keras backend only; TF1 and NumPy train lenet5")
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=defaults.dataset)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--limit", type=int, default=None, help="training images used (default all)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--augment", action="store_true", help="random shifts of up to 2 pixels")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to save the model: .keras (keras) or .npz (tf1, numpy)")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS_DIR,
                        help="folder that keeps every run's history and checkpoints")
    parser.add_argument("--json", action="store_true", help="print a one-line JSON summary at the end")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = TrainConfig(backend=args.backend, model=args.model, dataset=args.dataset,
                         epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, limit=args.limit, seed=args.seed,
                         augment=args.augment)
    try:
        config.validate()
        from cnnviz.data import load_dataset

        dataset = load_dataset(config.dataset)
        result = train(config, dataset, [ProgressBar()], run_dir=new_run_dir(config, args.runs_dir),
                       out=args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"test accuracy {result.history.test_accuracy:.4f}, "
          f"{result.history.images_per_second:.0f} images/s, model {result.model_path}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary(result)))
    return 0
