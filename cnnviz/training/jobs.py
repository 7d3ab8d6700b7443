"""Where the training page's runs execute: today a spawned child process per run, at a lower CPU
priority, its progress replayed here for the page to poll.

The page knows only `start_job(config, dataset, run_dir) -> Job` and the Job protocol (snapshot,
stop, stopping, done, result, error, join), so another runner (Ray jobs, next) replaces this
module without touching the page.
"""

import multiprocessing
import os
import queue
import threading
from pathlib import Path
from typing import Protocol

from cnnviz.training.config import Callback, TrainConfig, TrainResult
from cnnviz.training.loop import train
from cnnviz.training.runs import ACTIVE_RUNS

TRAINING_NICENESS = 10  # the training process yields the CPU to the server's pages


class Job(Protocol):
    """A run started for one browser session, polled by its page."""

    config: TrainConfig
    result: TrainResult | None  # set once the run ended well (finished or stopped)
    error: str | None  # set once the run failed: a message for the page

    def snapshot(self) -> dict:
        """Copies of the live state: "batches" and "epochs" rows, "first_layer", and "progress",
        the last batch's logs (Callback.on_batch_end's)."""

    def stop(self) -> None:
        """Ask the run to stop after the current batch."""

    @property
    def stopping(self) -> bool: ...

    @property
    def done(self) -> bool:
        """The run ended: result or error is set."""

    def join(self, timeout: float | None = None) -> None: ...


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


class BackgroundRun:
    """train() in a child process of its own; a Job.

    The child reports every batch and epoch through a queue and a monitor thread here replays them
    into a LiveState, so training holds no lock of the server process (Python's GIL): the
    explorer stays fast while Keras trains. One object per browser session: runs share nothing.
    """

    def __init__(self, config: TrainConfig, dataset, run_dir=None):
        self.config = config.validate()
        self.result: TrainResult | None = None
        self.error: str | None = None
        self._live = LiveState()
        context = multiprocessing.get_context("spawn")  # never fork a process that runs TensorFlow
        self._stop, self._reports = context.Event(), context.Queue()
        self._process = context.Process(
            target=_train_and_report, name=f"cnnviz-train-{config.backend}", daemon=True,
            args=(config, dataset, run_dir, self._reports, self._stop, os.getpid()))
        self._run_dir = Path(run_dir) if run_dir is not None else None
        ACTIVE_RUNS.add(self._run_dir)
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
                    self._live.on_batch_end(payload["batch"], payload)
                elif kind == "epoch":
                    self._live.on_epoch_end(payload["epoch"], payload)
                elif kind == "result":
                    self.result = payload
                    return
                else:
                    self.error = payload
                    return
        finally:
            self._process.join(5)
            ACTIVE_RUNS.discard(self._run_dir)

    def snapshot(self) -> dict:
        return self._live.snapshot()

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


def start_job(config: TrainConfig, dataset, run_dir=None) -> Job:
    """Start training config on dataset off the server process; run_dir receives its record."""
    return BackgroundRun(config, dataset, run_dir)


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
