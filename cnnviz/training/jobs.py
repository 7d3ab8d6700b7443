"""Where the training page's runs execute: each run is a Ray actor (worker.TrainingWorker) that
needs one CPU, and Ray's scheduler queues the runs that find none free. This room follows a run
from the server: submits it through the training service, tells where it waits, replays its
progress for the page to poll, and writes its checkpoints into the runs folder.

The page knows only `start_job(config, dataset, run_dir) -> Job` and the Job protocol. A Job
goes through three phases: "starting" (the service, Ray, is starting), "queued" (the run's
actor waits in Ray's queue for a CPU), "running" (its worker trains). Stop in each:
- starting: the run is never submitted;
- queued: the pending actor is killed (ray.kill), so Ray drops it from its queue;
- running: the worker's stop flag is set; it stops after the current batch, then tests and
  saves the run as "stopped".
A job that ends with neither result nor error left the queue before its run started; its run
folder is removed. A worker that dies (killed, out of memory, its machine gone) ends the run
"interrupted", with its last finished epoch's checkpoint kept.
Nothing here blocks the server's script threads: each job has a follower thread.
"""

import contextlib
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Protocol

from cnnviz import paths
from cnnviz.training.config import Callback, History, TrainConfig, TrainResult
from cnnviz.training.loop import split_sizes
from cnnviz.training.runs import RunRecorder
from cnnviz.training.service import SERVICE, TrainingService, max_queued
from cnnviz.training.waiting import actor_name

# Every run declares the memory the largest needs, so that all runs ask for the same resources and
# Ray keeps them in one first-come-first-served line. A worker's peak RSS, measured: Keras on
# 60,000 Fashion-MNIST images with augmentation 1,419 MiB; Keras on the embedded 8,000 781 MiB,
# TF1 745 MiB; NumPy 220 MiB (922 MiB on 60,000).
RUN_MEMORY_BYTES = 1536 * 2**20
RUN_RESOURCES = {"num_cpus": 1, "memory": RUN_MEMORY_BYTES, "max_concurrency": 2,
                 "max_restarts": 0}  # one CPU; run() and stop() on two threads; never rerun
QUEUE_REFRESH_SECONDS = 1.0  # how often a waiting run's place is recomputed


class Job(Protocol):
    """A run started for one browser session, polled by its page."""

    config: TrainConfig
    result: TrainResult | None  # set once the run ended well (finished or stopped)
    error: str | None  # set once the run failed or was refused: a sentence for the page

    def snapshot(self) -> dict:
        """Copies of the live state: "batches" and "epochs" rows, "first_layer", "progress"
        (the last batch's logs, Callback.on_batch_end's), "phase" ("starting", "queued" or
        "running"), and while queued "place" (from 1) and "starts_in" (seconds, an estimate)."""

    def stop(self) -> None:
        """Leave the queue, or stop the run after the current batch."""

    @property
    def phase(self) -> str:
        """"starting", "queued", "running", or "ended"."""

    @property
    def stopping(self) -> bool: ...

    @property
    def done(self) -> bool:
        """The run ended: result or error is set, or neither when it left the queue."""

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


class QueueFull(RuntimeError):
    """Too many runs wait already (max_queued)."""


class RayJob:
    """One run on Ray, followed from this process; a Job.

    run_dir (optional) receives run.json and the model, written here from what the worker ships,
    wherever it trains; callbacks get the run's batches and epochs as they arrive.
    """

    def __init__(self, config: TrainConfig, dataset, run_dir=None, callbacks=(),
                 service: TrainingService | None = None):
        self.config = config.validate()
        self.result: TrainResult | None = None
        self.error: str | None = None
        self._service = service or SERVICE
        self._live = LiveState()
        self._callbacks = [self._live, *callbacks]
        self._run_dir = Path(run_dir) if run_dir is not None else None
        self._root = self._run_dir.parent if self._run_dir else paths.runs_dir()
        self._train_images = split_sizes(len(dataset.x_train), config)[0]
        self._lock = threading.Lock()
        self._stop_requested = self._left_queue = False
        self._phase, self._place, self._starts_in = "starting", None, None
        self._actor = self._reports = self._recorder = self._name = None
        self._started_at = self._first_batch_at = None
        self._history = History()
        self._ended = threading.Event()  # not Thread.join: a Ctrl-C during it spoils the next one
        submitted = self._service.submit(lambda: self._submit(dataset))
        threading.Thread(target=self._follow, args=(submitted,), daemon=True,
                         name="cnnviz-train-follower").start()

    # --- on the service's lane --------------------------------------------------------------

    def _submit(self, dataset) -> None:
        """Create the run's actor and start its run(), unless stopped already or the queue is
        full; the run's record says "queued" first, so every replica sees it waiting."""
        waiting = self._service.queue_view(self._root).waiting()
        if waiting >= max_queued():
            raise QueueFull(f"The training queue is full: {waiting} runs are waiting for a slot. "
                            "Please try again in a few minutes.")
        arrays = self._service.put_dataset(dataset)
        submitted_ns = time.time_ns()
        run_name = self._run_dir.name if self._run_dir else None
        name = actor_name(submitted_ns, run_name or secrets.token_hex(6))
        with self._lock:
            if self._stop_requested:
                return
            if self._run_dir is not None:
                self._recorder = RunRecorder(
                    self._run_dir, self.config, "queued", submitted=submitted_ns / 1e9,
                    expected_seconds=self._service.typical.seconds(self.config, self._train_images))
            self._actor = self._service.worker_class().options(name=name, **RUN_RESOURCES).remote()
            self._reports = self._actor.run.remote(self.config, arrays, run_name)
            self._name, self._phase = name, "queued"
        self._service.forget_queue_view(self._root)  # the next view shows this run

    # --- on the follower thread -------------------------------------------------------------

    def _follow(self, submitted) -> None:
        import ray

        try:
            submitted.result()
            if self._actor is None:
                return  # stopped before it was submitted
            while True:
                place, starts_in = self._service.queue_view(self._root).where(self._name)
                with self._lock:
                    self._place, self._starts_in = place, starts_in
                if ray.wait([self._reports], timeout=QUEUE_REFRESH_SECONDS)[0]:
                    break
            for ref in self._reports:
                for kind, payload in ray.get(ref):
                    self._replay(kind, payload)
        except QueueFull as error:
            self.error = str(error)
        except ray.exceptions.RayError as error:
            self.error = self._worker_lost(error)
        except Exception as error:  # noqa: BLE001 - the service could not start, or a disk error
            self.error = f"Training failed: {error}"
        finally:
            try:
                self._end()
            finally:
                self._ended.set()

    def _replay(self, kind: str, payload) -> None:
        """Apply one report of the worker (see cnnviz.training.worker)."""
        now = time.time()
        if kind == "started":
            with self._lock:
                self._phase, self._started_at = "running", now
            if self._recorder:
                expected = self._service.typical.seconds(self.config, self._train_images)
                self._recorder.write_status("running", History(), started=now, worker=payload,
                                            eta_at=now + expected)
            self._service.forget_queue_view(self._root)  # one run fewer waits
        elif kind == "batch":
            self._first_batch_at = self._first_batch_at or now
            for callback in self._callbacks:
                callback.on_batch_end(payload["batch"], payload)
        elif kind == "epoch":
            for callback in self._callbacks:
                callback.on_epoch_end(payload["epoch"], payload)
        elif kind == "checkpoint":
            self._history = History.from_dict(payload["history"])
            eta = self._live.snapshot()["progress"].get("eta", 0.0)
            self._recorder.write_model(payload["model"], self._history, payload["status"],
                                       eta_at=now + eta)
        elif kind == "status":
            self._history = History.from_dict(payload["history"])
            self._recorder.write_status(payload["status"], self._history, payload["error"])
        elif kind == "done":
            self._finish(History.from_dict(payload["history"]), now)
        elif kind == "error":
            self.error = f"Training failed: {payload}"
            if self._recorder:
                self._recorder.write_status("failed", self._history, error=payload)

    def _finish(self, history: History, now: float) -> None:
        model_path = self._recorder.model_path if self._recorder else None
        self.result = TrainResult(self.config, history, model_path, self._run_dir)
        if self._first_batch_at is not None:
            seen = sum(row["size"] for row in history.batches)
            self._service.typical.observe(self.config.backend,
                                          self._first_batch_at - self._started_at,
                                          seen / max(now - self._first_batch_at, 1e-9))
        logs = {"test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
                "stopped": history.stopped, "wall_time": history.wall_time}
        for callback in self._callbacks:
            callback.on_train_end(logs)

    def _worker_lost(self, error) -> str | None:
        """The message for a run whose actor died: none when it left the queue as asked."""
        if self._left_queue:
            return None
        if self._phase != "running":
            return f"The training worker could not start: {str(error).splitlines()[0]}"
        epochs = len(self._history.epochs)
        message = (f"The training worker died (killed, out of memory, or its machine left the "
                   f"cluster); the run ends here, its last finished epoch ({epochs}) is kept.")
        if self._recorder:
            self._recorder.write_status("interrupted", self._history, error=message)
        return message

    def _end(self) -> None:
        """Free the run's worker now, and forget a run that never started."""
        if self._actor is not None:
            import ray

            with contextlib.suppress(ray.exceptions.RayError):  # Ray itself may be gone
                ray.kill(self._actor)  # its CPU and memory, now rather than when the handle goes
        if (self._phase != "running" or self._left_queue) and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)  # nothing was trained
        self._service.forget_queue_view(self._root)
        with self._lock:
            self._phase = "ended"

    # --- the Job protocol, for the page's threads --------------------------------------------

    def snapshot(self) -> dict:
        with self._lock:
            state = {"phase": self._phase, "place": self._place, "starts_in": self._starts_in}
        return {**self._live.snapshot(), **state}

    @property
    def phase(self) -> str:
        return self._phase

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            actor, phase = self._actor, self._phase
        if actor is None or phase == "ended":
            return  # not submitted yet (it never will be), or over
        if phase == "running":
            actor.stop.remote()  # checked after every batch
        else:
            import ray

            self._left_queue = True
            ray.kill(actor)  # still in Ray's queue: it never trains

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    @property
    def done(self) -> bool:
        return self._ended.is_set()

    def join(self, timeout: float | None = None) -> None:
        self._ended.wait(timeout)


def start_job(config: TrainConfig, dataset, run_dir=None, callbacks=(),
              service: TrainingService | None = None) -> Job:
    """Start training config on dataset as a Ray run (queued while every slot is taken);
    run_dir receives its record and checkpoints, callbacks its batches and epochs."""
    return RayJob(config, dataset, run_dir, callbacks, service)
