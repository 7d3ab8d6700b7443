"""Where the training page's runs execute: each run is a Ray actor (worker.TrainingWorker) that
needs one CPU, and Ray's scheduler queues the runs that find none free. This room starts a run
followed from the server and ends it; its parts submit it through the training service and tell
where it waits (queueing), replay its progress for the page to poll (following), and write its
checkpoints into the runs folder (recording).

The page knows only `start_job(config, dataset, run_dir) -> Job` and the Job protocol. A Job
goes through three phases: "starting" (the service, Ray, is starting, or retried while it
cannot be reached: standing()["service"] says so), "queued" (the run's actor waits in Ray's
queue for a CPU, or has one but its hold, the class's pause, keeps it from beginning), "running"
(its worker trains). Stop in each:
- starting: the run is never submitted;
- queued: the pending actor is killed (ray.kill), so Ray drops it from its queue;
- running: the worker's stop flag is set; it stops after the current batch, then tests and
  saves the run as "stopped".
A job that ends with neither result nor error left the queue before its run started; its run
folder is removed. A worker that dies (killed, out of memory, its machine gone) ends the run
"interrupted", with its last finished epoch's checkpoint kept; so does the head of Ray dying,
and a run waiting in that Ray is submitted again once it is back (queueing). A runs folder that
cannot be written (full, read-only) ends the run "failed", its worker freed, what was written
before kept.
Nothing here blocks the server's script threads: each job has a follower thread.
"""

import contextlib
import threading
from typing import Protocol

from cnnviz import paths
from cnnviz.training.config import TrainConfig, TrainResult
from cnnviz.training.following import Follower
from cnnviz.training.loop import split_sizes
from cnnviz.training.queueing import QueuedRun, QueueFull
from cnnviz.training.recording import RunRecord
from cnnviz.training.runs import RunsFolderError
from cnnviz.training.service import SERVICE, HeadGone, TrainingService


class Job(Protocol):
    """A run started for one browser session, polled by its page."""

    config: TrainConfig
    result: TrainResult | None  # set once the run ended well (finished or stopped)
    error: str | None  # set once the run failed or was refused: a sentence for the page

    def snapshot(self) -> dict:
        """Copies of the live state: "batches" and "epochs" rows, "first_layer", "progress"
        (the last batch's logs, Callback.on_batch_end's), "phase" ("starting", "queued" or
        "running"), while queued "place" (from 1) and "starts_in" (seconds, an estimate), while
        starting "service" (a sentence when the service is slow to start or unreachable)."""

    def standing(self) -> dict:
        """snapshot()'s "phase", "place", "starts_in" (and "service") alone, without the rows."""

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


class RayJob:
    """One run on Ray, followed from this process; a Job.

    run_dir (optional) receives run.json and the model, written here from what the worker ships,
    wherever it trains; callbacks get the run's batches and epochs as they arrive. Its parts:
    queueing.QueuedRun (Ray's queue, Stop), following.Follower (the worker's reports),
    recording.RunRecord (the runs folder); this class starts them and ends the run.
    """

    def __init__(self, config: TrainConfig, dataset, run_dir=None, callbacks=(),
                 service: TrainingService | None = None, hold=None):
        self.config = config.validate()
        self.result: TrainResult | None = None
        self.error: str | None = None
        service = service or SERVICE
        record = RunRecord(run_dir, self.config)
        self._queued = QueuedRun(service, record.run_dir.parent if record.run_dir
                                 else paths.runs_dir())
        train_images = split_sizes(len(dataset.x_train), config)[0]
        self._follower = Follower(self.config, callbacks, record, self._queued, service.typical,
                                  train_images)
        self._ended = threading.Event()  # not Thread.join: a Ctrl-C during it spoils the next one

        def on_queued(submitted: float) -> None:
            record.queued(submitted, service.typical.seconds(self.config, train_images))

        self._queued.start(  # Ray unreachable: retried till Stop
            lambda: self._queued.submit(self.config, dataset, record.name, on_queued, hold))
        threading.Thread(target=self._follow, daemon=True, name="cnnviz-train-follower").start()

    # --- on the follower thread -------------------------------------------------------------

    def _follow(self) -> None:
        import ray

        try:
            if self._queued.follow_until_worker():
                for reports in self._queued.report_lists():
                    for kind, payload in reports:
                        self._follower.replay(kind, payload)
            self.result, self.error = self._follower.result, self._follower.error
        except QueueFull as error:
            self.error = str(error)
        except RunsFolderError as error:
            self.error = self._cannot_write(error)
        except (ray.exceptions.RayError, HeadGone) as error:
            self.error = self._worker_lost(error)
        except Exception as error:  # noqa: BLE001 - the service could not start, or a disk error
            self.error = f"Training failed: {error}"
        finally:
            try:
                self._end()
            finally:
                self._ended.set()

    def _worker_lost(self, error) -> str | None:
        """The message for a run whose actor died: none when it left the queue as asked."""
        if self._queued.left:
            return None
        if self._queued.phase != "running":
            return f"The training worker could not start: {str(error).splitlines()[0]}"
        history = self._follower.history  # as the last report left it: its last finished epoch
        message = (f"The training worker died (killed, out of memory, or its machine left the "
                   f"cluster); the run ends here, its last finished epoch ({len(history.epochs)}) "
                   f"is kept.")
        self._follower.record.status("interrupted", history, error=message)
        return message

    def _cannot_write(self, error: RunsFolderError) -> str:
        """The message for a run whose record cannot be written; "failed" recorded if it can."""
        message = f"Training failed: {error}. The run ends here; what was saved before is kept."
        with contextlib.suppress(OSError):  # a full disk may still take a small run.json
            self._follower.record.status("failed", self._follower.history, error=message)
        return message

    def _end(self) -> None:
        """Free the run's worker now, and forget a run that never started."""
        self._queued.free()
        if not self._queued.trained:
            self._follower.record.discard()  # nothing was trained
        self._queued.service.forget_queue_view(self._queued.root)
        self._queued.set_phase("ended")

    # --- the Job protocol, for the page's threads --------------------------------------------

    def snapshot(self) -> dict:
        return {**self._follower.live.snapshot(), **self._queued.standing()}

    def standing(self) -> dict:
        return self._queued.standing()

    @property
    def phase(self) -> str:
        return self._queued.phase

    def stop(self) -> None:
        self._queued.stop()

    @property
    def stopping(self) -> bool:
        return self._queued.stop_requested

    @property
    def done(self) -> bool:
        return self._ended.is_set()

    def join(self, timeout: float | None = None) -> None:
        self._ended.wait(timeout)


def start_job(config: TrainConfig, dataset, run_dir=None, callbacks=(),
              service: TrainingService | None = None, hold=None) -> Job:
    """Start training config on dataset as a Ray run (queued while every slot is taken);
    run_dir receives its record and checkpoints, callbacks its batches and epochs. hold: None,
    or what holds the run, queued, while its paused() says so once it has a slot (the class's
    pause: waiting runs keep their place and begin in order once it ends)."""
    return RayJob(config, dataset, run_dir, callbacks, service, hold)
