"""One training run inside a Ray worker process: train() on the CPUs Ray gave it, its progress
and checkpoints streamed back to the server that follows it (cnnviz.training.jobs).

TrainingWorker is a Ray actor (jobs creates it with one CPU and two threads): run() is a
generator on one thread, stop() answers on the other. Imported by the server only to name the
class: neither Ray nor TensorFlow is imported here at module level, and nothing the worker
sends back needs TensorFlow to read (floats, NumPy arrays, a model file's bytes). The worker
process is started by Ray's raylet, never forked from the server.

run() yields lists of reports, (kind, payload), at most every REPORT_SECONDS:
    ("started", {"host", "pid", "cpus"})
    ("batch", Callback.on_batch_end's logs)            ("epoch", on_epoch_end's, first_layer too)
    ("checkpoint", {"status", "history", "model"})     the model file's bytes after an epoch
    ("status", {"status", "history", "error"})         ("failed": the run's record)
    ("done", {"history"})  or  ("error", message)      the last report
A report's "history" is what is new since the previous one (reports.HistorySender's news): a
checkpoint carries its epoch's rows, not the whole run's, which grows with every batch.
"""

import os
import queue
import socket
import tempfile
import threading
import time
import types
from pathlib import Path

from cnnviz.nn.blas import limit_blas_threads
from cnnviz.training.config import Callback, History, TrainConfig
from cnnviz.training.loop import Trainer
from cnnviz.training.reports import HistorySender
from cnnviz.training.runs import model_meta

REPORT_SECONDS = 0.1  # reports travel in lists: one message per batch would cost Keras' speed
# A worker on the server's machine yields the CPU to the server's pages. Ray starts its workers
# at nice 15 (its worker_niceness), so this brings the run's threads, and the TensorFlow threads
# they start, to 19, the lowest there is (Ray's own I/O threads stay at 0: they are nearly idle).
WORKER_NICENESS = 10
LAST_REPORTS = ("done", "error")
HOLD_POLL_SECONDS = 1.0  # a run held before it begins asks its hold again this often


class Reporter(Callback):
    """Puts every batch's and epoch's logs on a queue."""

    def __init__(self, reports: queue.Queue):
        self.reports = reports

    def on_batch_end(self, batch: int, logs: dict) -> None:
        self.reports.put(("batch", logs))

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.reports.put(("epoch", logs))


class ShippingRecorder:
    """A run's recorder (runs.RunRecorder's write_status and checkpoint) that sends the record
    and the model file's bytes to the server, which writes them into its runs folder.
    sender: what the run's earlier reports carried of its history."""

    run_dir = None  # the run's folder is the server's

    def __init__(self, reports: queue.Queue, config: TrainConfig, run_name: str,
                 sender: HistorySender):
        self.reports, self.config, self.run_name, self.sender = reports, config, run_name, sender

    def write_status(self, status: str, history: History, error: str | None = None) -> None:
        self.reports.put(("status", {"status": status, "history": self.sender.news(history),
                                     "error": error}))

    def checkpoint(self, backend, history: History, status: str) -> None:
        with tempfile.TemporaryDirectory(prefix="cnnviz-checkpoint-") as folder:
            path = Path(folder) / f"model{self.config.model_suffix}"
            backend.save(path, {**model_meta(self.config, history), "run": self.run_name})
            model = path.read_bytes()
        self.reports.put(("checkpoint", {"status": status, "history": self.sender.news(history),
                                         "model": model}))


def hold_threads(backend: str, cpus: int) -> None:
    """Hold OpenBLAS, and TensorFlow for the backends that use it, to `cpus` threads each."""
    limit_blas_threads(cpus)
    if backend in ("keras", "tf1"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(cpus)
        tf.config.threading.set_inter_op_parallelism_threads(cpus)


def wait_while_held(hold, stop: threading.Event, poll: float = HOLD_POLL_SECONDS) -> None:
    """Returns once `hold` lets the run begin (hold.paused() is false; no hold: at once) or the
    run was stopped. Held, the run keeps its CPU slot, so the runs queued behind it in Ray stay
    behind it, in their order."""
    while hold is not None and hold.paused() and not stop.wait(poll):
        pass


class TrainingWorker:
    """A Ray actor that trains one run: run() streams its reports, stop() ends it after the
    current batch (then the run is tested and saved as "stopped")."""

    def __init__(self):
        os.nice(WORKER_NICENESS)
        self._stop = threading.Event()

    def run(self, config: TrainConfig, arrays: dict, run_name: str | None, hold=None):
        """Train config on arrays (x_train, y_train, x_test, y_test); a generator of report
        lists. run_name: the run's folder on the server, or None when nothing is recorded.
        hold: None, or what may hold the run before it begins (its paused(), e.g. the class's
        pause: classroom.settings.PauseGate); held, the run reports nothing, as if queued."""
        import ray

        wait_while_held(hold, self._stop)
        assigned = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        cpus = max(1, int(assigned))
        reports: queue.Queue = queue.Queue()
        reports.put(("started", {"host": socket.gethostname(), "pid": os.getpid(), "cpus": cpus}))
        threading.Thread(target=self._train, args=(config, arrays, run_name, cpus, reports),
                         daemon=True, name="cnnviz-train").start()
        while True:
            batch = [reports.get()]
            deadline = time.monotonic() + REPORT_SECONDS
            while batch[-1][0] not in LAST_REPORTS and time.monotonic() < deadline:
                try:
                    batch.append(reports.get(timeout=max(deadline - time.monotonic(), 0)))
                except queue.Empty:
                    break
            yield batch
            if batch[-1][0] in LAST_REPORTS:
                return

    def stop(self) -> None:
        self._stop.set()

    def _train(self, config, arrays, run_name, cpus, reports) -> None:
        sender = HistorySender()
        try:
            hold_threads(config.backend, cpus)
            trainer = Trainer(config, types.SimpleNamespace(**arrays), [Reporter(reports)],
                              self._stop)
            if run_name is not None:
                trainer.recorder = ShippingRecorder(reports, config, run_name, sender)
            result = trainer.run()
        except Exception as error:  # noqa: BLE001 - the server shows it on the page
            reports.put(("error", f"{type(error).__name__}: {error}"))
        else:
            reports.put(("done", {"history": sender.news(result.history)}))
