"""The training loop: split the data, run the epochs on a backend, validate, test, record.

    result = train(TrainConfig(backend="numpy", epochs=3), load_dataset("mnist"), [my_callback])

Callbacks speak Keras' vocabulary (`on_batch_end(batch, logs)`, `on_epoch_end(epoch, logs)`); a
`threading.Event` (or anything with `is_set()`) passed as `stop` is checked after every batch.
NumPy and TF1 start from the same weights and see the batches in the same order, so one seed
gives the same curves. With `run_dir`, runs.RunRecorder checkpoints the run after every epoch;
a Trainer takes any recorder with its two calls (write_status, checkpoint): a training worker's
ships the checkpoints to the server instead (cnnviz.training.worker).
"""

import time
from pathlib import Path

import numpy as np

from cnnviz.data import splits
from cnnviz.training.backends import make_backend
from cnnviz.training.config import History, TrainConfig, TrainResult
from cnnviz.training.runs import RunRecorder, model_meta


def as_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 images (m, 28, 28) -> float32 network inputs (m, 28, 28, 1) in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / 255)[..., None]


def shift_images(X: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Each image of X (m, 28, 28, 1) moved by a random whole-pixel offset in
    [-max_shift, max_shift]."""
    padded = np.pad(X, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)))
    offsets = rng.integers(0, 2 * max_shift + 1, size=(len(X), 2))
    shifted = np.empty_like(X)
    for dy in range(2 * max_shift + 1):
        for dx in range(2 * max_shift + 1):
            chosen = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
            shifted[chosen] = padded[chosen, dy : dy + 28, dx : dx + 28]
    return shifted


def split_sizes(n: int, config: TrainConfig) -> tuple[int, int]:
    """(training images, validation images) that config takes from n images (data.splits')."""
    return splits.split_sizes(n, config.limit, config.validation_fraction)


def split_indices(n: int, config: TrainConfig, rng: np.random.Generator):
    """(train indices, validation indices): config's cut of data.splits.split_indices."""
    return splits.split_indices(n, rng, config.limit, config.validation_fraction)


def loss_and_accuracy(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of probabilities (m, 10) against integer labels (m,)."""
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1)
    return float(-np.log(picked).mean()), float((probs.argmax(axis=1) == labels).mean())


def train(config: TrainConfig, dataset, callbacks=(), *, stop=None, run_dir=None,
          out=None) -> TrainResult:
    """Train config.model on dataset (.x_train, .y_train, .x_test, .y_test) and return the result.

    callbacks: Callback objects; stop: a threading.Event (or anything with is_set()) checked after
    every batch; run_dir: folder that receives run.json and the model after every epoch; out: where
    to save the final model too.
    """
    check_out_path(config.validate(), out)
    trainer = Trainer(config, dataset, list(callbacks), stop)  # splits the data: may refuse config
    trainer.recorder = RunRecorder(run_dir, config) if run_dir is not None else None
    return trainer.run(out)


def check_out_path(config: TrainConfig, out) -> None:
    """ValueError unless out is None or ends with the suffix config's backend saves."""
    if out is not None and Path(out).suffix != config.model_suffix:
        raise ValueError(f"out must end with {config.model_suffix} for the {config.backend} "
                         f"backend, got {out}")


class Trainer:
    """One run's state: data split, backend, history, progress counters.

    recorder: None, or what records the run (runs.RunRecorder's write_status and checkpoint).
    """

    def __init__(self, config, dataset, callbacks, stop, recorder=None):
        self.config, self.dataset, self.callbacks, self.stop = config, dataset, callbacks, stop
        self.rng = np.random.default_rng(config.seed)
        train_idx, val_idx = split_indices(len(dataset.x_train), config, self.rng)
        X_all, y_all = as_inputs(dataset.x_train), np.asarray(dataset.y_train, dtype=np.int64)
        self.X_train, self.y_train = X_all[train_idx], y_all[train_idx]
        self.X_val, self.y_val = X_all[val_idx], y_all[val_idx]
        self.recorder = recorder
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
        images_per_second = self.seen / max(elapsed, 1e-9)
        logs = {**row, "seen": self.seen, "total": self.total, "elapsed": elapsed,
                "images_per_second": images_per_second,
                "eta": (self.total - self.seen) / max(images_per_second, 1e-9)}
        for callback in self.callbacks:
            callback.on_batch_end(row["batch"], logs)
        return self.stopped()

    def run(self, out=None) -> TrainResult:
        """Train, test, save; on any error the run's record says "failed" and the error goes on."""
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
        history = self.history
        end_logs = {"test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
                    "stopped": history.stopped, "wall_time": history.wall_time}
        for callback in self.callbacks:
            callback.on_train_end(end_logs)
        run_dir = self.recorder.run_dir if self.recorder else None
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
        history.test_loss, history.test_accuracy = loss_and_accuracy(probs, y_test)
        history.test_predictions = probs.argmax(axis=1).tolist()
        history.images_per_second = self.seen / max(self.training_seconds, 1e-9)
        history.wall_time = time.perf_counter() - self.started
        model_path = None
        if self.recorder:
            status = "stopped" if history.stopped else "finished"
            model_path = self.recorder.checkpoint(backend, history, status)
        if out is not None:
            backend.save(Path(out), model_meta(self.config, history))
            model_path = Path(out)
        return model_path

    def run_epoch(self, backend) -> bool:
        """Train one epoch, validate, checkpoint; False when stopped before its last batch."""
        order = self.rng.permutation(len(self.X_train))
        X_epoch = self.X_train[order]
        if self.config.augment:
            X_epoch = shift_images(X_epoch, self.rng)
        self.epoch_start, self.epoch_rows = time.perf_counter(), []
        backend.train_epoch(X_epoch, self.y_train[order], self.config.batch_size, self.on_batch)
        seconds = time.perf_counter() - self.epoch_start
        self.training_seconds += seconds
        rows, history = self.epoch_rows, self.history
        history.batches.extend(rows)
        sizes = np.array([row["size"] for row in rows])
        if sizes.sum() < len(self.X_train):
            return False  # a partial epoch is not an epoch: its batches stay, no epoch row
        val_loss, val_accuracy = loss_and_accuracy(backend.predict(self.X_val), self.y_val)
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
