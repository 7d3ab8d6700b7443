"""A run's way through Ray's queue: its actor submitted on the training service's lane, its
place followed while it waits for a CPU, and leaving the queue (or stopping the run) on Stop.

Every run declares the memory the largest needs, so that all runs ask for the same resources
(RUN_RESOURCES) and Ray keeps them in one first-come-first-served line.
"""

import contextlib
import secrets
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from cnnviz.training.config import TrainConfig
from cnnviz.training.service import TrainingService, max_queued
from cnnviz.training.waiting import actor_name

# Every run declares the peak memory of the largest run (Keras on the full Fashion-MNIST with
# augmentation; BENCHMARKS.md, train), so runs of every size share one queue.
RUN_MEMORY_BYTES = 1536 * 2**20
RUN_RESOURCES = {"num_cpus": 1, "memory": RUN_MEMORY_BYTES, "max_concurrency": 2,
                 "max_restarts": 0}  # one CPU; run() and stop() on two threads; never rerun
QUEUE_REFRESH_SECONDS = 1.0  # how often a waiting run's place is recomputed


class QueueFull(RuntimeError):
    """Too many runs wait already (max_queued)."""


class QueuedRun:
    """One run's actor in Ray's queue, and the run's phase: "starting" (not submitted yet),
    "queued", "running" (its worker reported) or "ended" (set by the job that follows it)."""

    def __init__(self, service: TrainingService, root: Path):
        self.service, self.root = service, root
        self._lock = threading.Lock()
        self.phase, self.place, self.starts_in = "starting", None, None
        self.stop_requested = self.left = False
        self.actor = self.reports = self.name = None

    def submit(self, config: TrainConfig, dataset, run_name: str | None, on_queued) -> None:
        """(The lane.) Create the run's actor and start its run(), unless stopped already or the
        queue is full (QueueFull); on_queued(submitted seconds) records the run as queued first,
        so every replica sees it waiting."""
        waiting = self.service.queue_view(self.root).waiting()
        if waiting >= max_queued():
            raise QueueFull(f"The training queue is full: {waiting} runs are waiting for a slot. "
                            "Please try again in a few minutes.")
        arrays = self.service.put_dataset(dataset)
        submitted_ns = time.time_ns()
        name = actor_name(submitted_ns, run_name or secrets.token_hex(6))
        with self._lock:
            if self.stop_requested:
                return
            on_queued(submitted_ns / 1e9)
            self.actor = self.service.worker_class().options(name=name, **RUN_RESOURCES).remote()
            self.reports = self.actor.run.remote(config, arrays, run_name)
            self.name, self.phase = name, "queued"
        self.service.forget_queue_view(self.root)  # the next view shows this run

    def wait_submitted(self, submitted: Future) -> None:
        """(The follower.) Wait until the lane submitted the run (submitted's result, its error
        raised), or until a Stop came before it did: then it never will be."""
        while True:
            try:
                return submitted.result(timeout=QUEUE_REFRESH_SECONDS)
            except TimeoutError:
                with self._lock:
                    if self.stop_requested and self.actor is None:
                        return None

    def wait_for_worker(self) -> bool:
        """(The follower.) Follow the run's place until its worker's first reports are ready;
        False when the run was never submitted (stopped before)."""
        import ray

        if self.actor is None:
            return False
        while True:
            place, starts_in = self.service.queue_view(self.root).where(self.name)
            with self._lock:
                self.place, self.starts_in = place, starts_in
            if ray.wait([self.reports], timeout=QUEUE_REFRESH_SECONDS)[0]:
                return True

    def standing(self) -> dict:
        """"phase", and while queued "place" (from 1) and "starts_in" (seconds, an estimate);
        while starting "service": what the training service's trouble is (None: none)."""
        with self._lock:
            standing = {"phase": self.phase, "place": self.place, "starts_in": self.starts_in}
        if standing["phase"] == "starting":
            standing["service"] = self.service.notice()
        return standing

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self.phase = phase

    @property
    def trained(self) -> bool:
        """Its worker started training (and it was not killed for leaving the queue)."""
        return self.phase == "running" and not self.left

    def stop(self) -> None:
        """Never submit it, leave the queue (its pending actor killed, so Ray drops it), or stop
        the running worker after its current batch."""
        with self._lock:
            self.stop_requested = True
            actor, phase = self.actor, self.phase
        if actor is None or phase == "ended":
            return  # not submitted yet (it never will be), or over
        if phase == "running":
            actor.stop.remote()  # checked after every batch
        else:
            import ray

            self.left = True
            ray.kill(actor)  # still in Ray's queue: it never trains

    def free(self) -> None:
        """Free the run's worker now: its CPU and memory, rather than when the handle goes."""
        if self.actor is not None:
            import ray

            with contextlib.suppress(ray.exceptions.RayError):  # Ray itself may be gone
                ray.kill(self.actor)
