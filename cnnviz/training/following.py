"""Following a run from the server: its worker's reports (cnnviz.training.worker) replayed into
the callbacks and the live state the page polls, added up into the run's History, and written
into its record."""

import threading
import time

from cnnviz.training.config import Callback, History, TrainConfig, TrainResult
from cnnviz.training.queueing import QueuedRun
from cnnviz.training.recording import RunRecord
from cnnviz.training.reports import add_news
from cnnviz.training.waiting import Typical


class LiveState(Callback):
    """Collects a run's progress for another thread to read."""

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

    def eta(self) -> float:
        """Seconds the run should still take, as its last batch said (0 before any batch)."""
        with self._lock:
            return self._progress.get("eta", 0.0)


class Follower:
    """Replays one run's reports; its History is what they added up to so far, its result the
    run's once the worker reported it done, its error the worker's failure."""

    def __init__(self, config: TrainConfig, callbacks, record: RunRecord, queued: QueuedRun,
                 typical: Typical, train_images: int):
        self.config, self.record, self.queued, self.typical = config, record, queued, typical
        self.live = LiveState()
        self.callbacks = [self.live, *callbacks]
        self.train_images = train_images
        self.history = History()
        self.result: TrainResult | None = None
        self.error: str | None = None
        self._started_at = self._first_batch_at = None

    def replay(self, kind: str, payload) -> None:
        """Apply one report of the worker."""
        now = time.time()
        if kind == "started":
            self.queued.set_phase("running")
            self._started_at = now
            self.record.running(payload, now, self.typical.seconds(self.config, self.train_images))
            self.queued.service.forget_queue_view(self.queued.root)  # one run fewer waits
        elif kind == "batch":
            self._first_batch_at = self._first_batch_at or now
            for callback in self.callbacks:
                callback.on_batch_end(payload["batch"], payload)
        elif kind == "epoch":
            for callback in self.callbacks:
                callback.on_epoch_end(payload["epoch"], payload)
        elif kind == "checkpoint":
            add_news(self.history, payload["history"])
            self.record.checkpoint(payload["model"], self.history, payload["status"],
                                   eta_at=now + self.live.eta())
        elif kind == "status":
            add_news(self.history, payload["history"])
            self.record.status(payload["status"], self.history, payload["error"])
        elif kind == "done":
            add_news(self.history, payload["history"])
            self._finish(now)
        elif kind == "error":
            self.error = f"Training failed: {payload}"
            self.record.status("failed", self.history, error=payload)

    def _finish(self, now: float) -> None:
        history = self.history
        self.result = TrainResult(self.config, history, self.record.model_path,
                                  self.record.run_dir)
        if self._first_batch_at is not None:
            seen = sum(row["size"] for row in history.batches)
            self.typical.observe(self.config.backend, self._first_batch_at - self._started_at,
                                 seen / max(now - self._first_batch_at, 1e-9))
        logs = {"test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
                "stopped": history.stopped, "wall_time": history.wall_time}
        for callback in self.callbacks:
            callback.on_train_end(logs)
