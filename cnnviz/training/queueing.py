"""A run's way through Ray's queue: its actor submitted on the training service's lane, its
place followed while it waits for a CPU, and leaving the queue (or stopping the run) on Stop.

Every run declares the memory the largest needs, so that all runs ask for the same resources
(RUN_RESOURCES) and Ray keeps them in one first-come-first-served line.

Every Ray call of a follower has a time limit and goes through the service's ray_call(): when
the head dies, a run still waiting is submitted again (requeue, by the lane, in the runs' order)
and followed on the new Ray; a run training ends (its follower gets HeadGone or a RayError).
"""

import contextlib
import secrets
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from cnnviz.training.config import TrainConfig
from cnnviz.training.limits import max_queued
from cnnviz.training.service import CALL_WAIT_SECONDS, HeadGone, TrainingService
from cnnviz.training.waiting import actor_name

# Every run declares the peak memory of the largest run (Keras on the full Fashion-MNIST with
# augmentation; BENCHMARKS.md, train), so runs of every size share one queue.
RUN_MEMORY_BYTES = 1536 * 2**20
RUN_RESOURCES = {"num_cpus": 1, "memory": RUN_MEMORY_BYTES, "max_concurrency": 2,
                 "max_restarts": 0}  # one CPU; run() and stop() on two threads; never rerun
QUEUE_REFRESH_SECONDS = 1.0  # how often a waiting run's place is recomputed
REPORT_GET_SECONDS = 30.0  # a report list ready in the stream is fetched within this


class QueueFull(RuntimeError):
    """Too many runs wait already (max_queued)."""


class QueuedRun:
    """One run's actor in Ray's queue, and the run's phase: "starting" (not submitted yet),
    "queued", "running" (its worker reported) or "ended" (set by the job that follows it)."""

    def __init__(self, service: TrainingService, root: Path):
        self.service, self.root = service, root
        self._lock = threading.Condition()
        self.phase, self.place, self.starts_in = "starting", None, None
        self.stop_requested = self.left = False
        self.actor = self.reports = self.name = self.generation = None
        self.submitted: Future | None = None  # the lane's submission of the run, the latest
        self.submissions = 0  # how many: more than one after its head died while it waited
        self._work = None

    def start(self, work) -> None:
        """Have the lane submit the run (work() does, by submit()), retried till Stop."""
        self._work = work
        with self._lock:
            self.submitted = self.service.submit(work, wanted=lambda: not self.stop_requested)
            self.submissions += 1
            self._lock.notify_all()

    def requeue(self) -> None:
        """(The lane, its Ray left with the run waiting in it.) Submit the run again."""
        with self._lock:
            self.actor = self.reports = self.name = self.generation = None
            self.phase, self.place, self.starts_in = "starting", None, None
        self.start(self._work)

    def submit(self, config: TrainConfig, dataset, run_name: str | None, on_queued,
               hold=None) -> None:
        """(The lane.) Create the run's actor and start its run(), unless stopped already or the
        queue is full (QueueFull); on_queued(submitted seconds) records the run as queued first,
        so every replica sees it waiting. hold: the worker's (worker.TrainingWorker.run)."""
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
            self.reports = self.actor.run.remote(config, arrays, run_name, hold)
            self.name, self.phase, self.generation = name, "queued", self.service.generation
            self.service.enlist(name, self)
        self.service.forget_queue_view(self.root)  # the next view shows this run

    def follow_until_worker(self) -> bool:
        """(The follower.) Wait until the run is submitted, then follow its place until its
        worker's first reports are ready; False when it never will be (stopped before). Its head
        gone while it waits: once the lane left that Ray, the run is followed again, resubmitted."""
        while True:
            with self._lock:
                submitted, seen = self.submitted, self.submissions
            self.wait_submitted(submitted)
            try:
                return self.wait_for_worker()
            except HeadGone as error:
                self.set_phase("starting")  # the page tells why (the service's notice)
                check = self.service.suspect(str(error))
                with self._lock:  # requeued by the lane, or the head answers after all
                    while self.submissions == seen and not (check.done() and self.actor):
                        self._lock.wait(QUEUE_REFRESH_SECONDS)
                    if self.submissions == seen:
                        self.phase = "queued"

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
        False when the run was never submitted (stopped before). HeadGone: its Ray was left."""
        import ray

        with self._lock:
            name, reports, generation = self.name, self.reports, self.generation
        if name is None:
            return False
        while True:
            place, starts_in = self.service.queue_view(self.root).where(name)
            with self._lock:
                self.place, self.starts_in = place, starts_in
            with self.service.ray_call(generation):
                if ray.wait([reports], timeout=CALL_WAIT_SECONDS)[0]:
                    return True

    def report_lists(self):
        """(The follower, its worker started.) The worker's report lists as they come, each
        wait bounded; HeadGone once its Ray is gone (or the server stops). Each report's
        ObjectRef is let go of inside its Ray call, so never while the lane leaves Ray."""
        import ray

        while True:  # no knock: Ray itself fails the run's task once its worker died
            with self.service.ray_call(self.generation, knock=False):
                ref = None
                try:  # (a public next() waits without a limit)
                    ref = self.reports._next_sync(timeout_s=CALL_WAIT_SECONDS)
                    reports = None if ref.is_nil() else ray.get(ref, timeout=REPORT_GET_SECONDS)
                except StopIteration:
                    return
                finally:
                    ref = None
            if reports is not None:
                yield reports

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
        if phase == "ended":
            self.service.discharge(self.name)

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
        import ray

        if phase == "running":  # (its Ray gone or the server stopping: it ends with them)
            with contextlib.suppress(HeadGone), \
                    self.service.ray_call(self.generation, knock=False):
                actor.stop.remote()  # checked after every batch
        else:
            self.left = True
            with contextlib.suppress(HeadGone), self.service.ray_call(self.generation):
                ray.kill(actor)  # still in Ray's queue: it never trains (head gone: nor there)

    def free(self) -> None:
        """Free the run's worker now: its CPU and memory, rather than when the handle goes. The
        run's Ray objects (actor handle, report stream) are let go of inside that Ray call, or,
        refused (Ray gone, the server stopping), kept by the service till Ray is left: dropped
        later with the page's session, they could reach Ray while the lane leaves it."""
        with self._lock:
            held = [self.actor, self.reports]
            self.actor = self.reports = None
        if held[0] is None:
            return
        import ray

        try:
            with self.service.ray_call(self.generation):
                try:
                    with contextlib.suppress(ray.exceptions.RayError):  # Ray itself may be gone
                        ray.kill(held[0])
                finally:
                    held.clear()
        except HeadGone:
            self.service.keep(held)
