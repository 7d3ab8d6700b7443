"""The training service: the Ray cluster where the runs execute, joined once per process.

By default an embedded local Ray, started in the background when the Training page is first
opened (warm_up) or by the first run: as many CPUs as runs may train at
once ($CNNVIZ_MAX_RUNS, default cores - 1, at least 1; every run needs one), no dashboard, a
small object store, its logs in its session folder, not the server's console. With
$CNNVIZ_RAY_ADDRESS (`cnnviz app --ray-address`, `cnnviz train --ray-address`) an existing
cluster (`ray start --head`, then `ray start --address=...` on more machines): its CPUs bound
the runs, and every server replica joined to it shares one queue.

Ray ties the processes it starts to the thread that started them (the kernel kills them when
that thread ends), and Streamlit runs each script in a short-lived thread: so one long-lived
thread of this process, the lane, starts Ray and then submits the runs, one at a time in the
order they were started. Ray is imported only here and in the jobs that follow runs.

A cluster that cannot be reached (its head dead, or a wrong address) must not hold a run's page
on a silent spinner: ray.init waits a minute or more for an address where nothing answers, so
the lane first knocks on the address's port (PROBE_SECONDS at most). While it fails, the lane
retries with backoff (RETRY_SECONDS, doubling, at most RETRY_MAX_SECONDS) as long as a run still
wants the service, and notice() says what is wrong for the pages; the runs keep their order.
"""

import collections
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from cnnviz.training.waiting import QueueView, Typical

ADDRESS_ENV = "CNNVIZ_RAY_ADDRESS"
MAX_RUNS_ENV = "CNNVIZ_MAX_RUNS"
MAX_QUEUED_ENV = "CNNVIZ_MAX_QUEUED"
NAMESPACE = "cnnviz-training"  # the runs of every replica, and only those
OBJECT_STORE_BYTES = 256 * 2**20  # datasets (55 MB for 70,000 digits) and checkpoints in flight
QUEUE_VIEW_SECONDS = 1.0  # a queue view serves every waiting run of this process this long
DATASETS_KEPT = 4  # datasets put in Ray's object store, most recently used
PROBE_SECONDS = 2.0  # a TCP connect to the cluster's address: a live head answers at once
RETRY_SECONDS, RETRY_MAX_SECONDS = 1.0, 10.0  # waits between attempts to reach Ray
STARTING_NOTICE_SECONDS = 3.0  # a start that takes longer is told to the waiting students
WATCH_SECONDS = 5.0  # how often the joined head is knocked on (Ray ends us 60 s after it died)


def _positive_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        number = int(value) if value else default
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def max_runs() -> int:
    """Runs training at once on the embedded Ray: $CNNVIZ_MAX_RUNS, default cores - 1 (>= 1)."""
    return _positive_env(MAX_RUNS_ENV, max(1, (os.cpu_count() or 2) - 1))


def max_queued() -> int:
    """Runs allowed to wait for a slot, over all replicas: $CNNVIZ_MAX_QUEUED, default 100."""
    return _positive_env(MAX_QUEUED_ENV, 100)


class ServiceUnavailable(RuntimeError):
    """Ray could not be started or joined; the message says where and why."""


class HeadGone(ServiceUnavailable):
    """The head of the Ray this process joined no longer answers."""


def probe(address: str, timeout: float = PROBE_SECONDS) -> None:
    """ServiceUnavailable unless something accepts a TCP connection at address ("host:port"),
    within timeout seconds; other forms of address ("local", "auto", "ray://...") pass."""
    host, _, port = address.rpartition(":")
    if not host or "/" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or error
        raise ServiceUnavailable(f"nothing answers at {address} ({reason})") from error


class TrainingService:
    """The process's connection to Ray, and the lane that submits runs to it.

    address: a cluster's address, "local" for an embedded Ray; None reads $CNNVIZ_RAY_ADDRESS
    when Ray starts (unset: embedded).
    """

    def __init__(self, address: str | None = None):
        self.address = address
        self.typical = Typical()
        self._lane = ThreadPoolExecutor(1, thread_name_prefix="cnnviz-ray-lane")
        self._lock = threading.Lock()
        self._views: dict = {}  # runs folder -> (time, QueueView)
        self._datasets: collections.OrderedDict = collections.OrderedDict()
        self._worker_class = None
        self._warming: Future | None = None
        self._trouble: str | None = None  # why the last attempt to reach Ray failed
        self._connecting_since: float | None = None  # time.time() of the first attempt
        self._retry = RETRY_SECONDS
        self._head: str | None = None  # the joined Ray's GCS address, watched
        self._watcher: threading.Thread | None = None

    def submit(self, work, wanted=None) -> Future:
        """Run work() on the lane once Ray is up (started or joined first if needed). Without
        wanted, one attempt (its future raises ServiceUnavailable); with it, attempts go on with
        backoff while wanted() is true (false: work is dropped, the future's result is None)."""
        return self._lane.submit(self._connected_then, work, wanted)

    def warm_up(self) -> None:
        """Start Ray in the background now (once), so that the first run need not wait for it."""
        with self._lock:
            if self._warming is None:
                self._warming = self.submit(lambda: None)

    def notice(self) -> str | None:
        """What the pages should say about the service: why it cannot be reached, that it has
        been starting for STARTING_NOTICE_SECONDS already, or None (up, or about to be)."""
        with self._lock:
            trouble, since = self._trouble, self._connecting_since
        where = "Ray on this server" if self.where() == "local" else f"Ray at {self.where()}"
        if trouble:
            return (f"The training service ({where}) cannot be reached: {trouble}. It is retried "
                    "in the background; your run keeps its place in the queue and starts when "
                    "the service is back.")
        if since is not None and time.time() - since >= STARTING_NOTICE_SECONDS:
            return (f"The training service ({where}) is still starting; your run keeps its "
                    "place in the queue and starts as soon as it is up.")
        return None

    def where(self) -> str:
        """The address the service joins ("local": an embedded Ray)."""
        return self.address or os.environ.get(ADDRESS_ENV) or "local"

    def _connected_then(self, work, wanted):
        while True:
            if wanted is not None and not wanted():
                return None
            try:
                self._connect()
                break
            except ServiceUnavailable:
                if wanted is None:
                    raise
            time.sleep(self._retry)
            self._retry = min(self._retry * 2, RETRY_MAX_SECONDS)
        return work()

    def _connect(self, attempt=None) -> None:
        """Join (or start) Ray, once (or another attempt); its outcome is kept for notice()."""
        with self._lock:
            self._connecting_since = self._connecting_since or time.time()
        try:
            (attempt or self._join)()
        except ServiceUnavailable as error:
            with self._lock:
                self._trouble = str(error)
            raise
        with self._lock:
            self._trouble = self._connecting_since = None
        self._retry = RETRY_SECONDS
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="cnnviz-ray-watch")
            self._watcher.start()

    def _watch(self) -> None:
        """(A thread of its own.) Knock on the joined head every WATCH_SECONDS; once it is gone,
        leave Ray on the lane, before Ray ends this whole process for it."""
        while True:
            time.sleep(WATCH_SECONDS)
            head = self._head
            try:
                if head is not None:
                    probe(head)
            except ServiceUnavailable:
                self._lane.submit(self._connect, self._leave_if_head_gone).exception()  # waits

    def _join(self) -> None:
        import ray

        address = self.where()
        self._leave_if_head_gone()
        probe(address)  # (the same address, but for tests' services beside the process's Ray)
        if not ray.is_initialized():
            self._start(address)
        self._head = ray.get_runtime_context().gcs_address

    def _start(self, address: str) -> None:
        import ray

        options = {"namespace": NAMESPACE, "logging_level": logging.ERROR, "log_to_driver": False}
        if address == "local":
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no internet, nothing to send
            options |= {"num_cpus": max_runs(), "include_dashboard": False,
                        "object_store_memory": OBJECT_STORE_BYTES, "_node_ip_address": "127.0.0.1"}
        try:
            ray.init(address=address, **options)
        except Exception as error:  # Ray raises several kinds: one message for the page
            raise ServiceUnavailable(f"Ray could not start: {error}") from error

    def _leave_if_head_gone(self) -> None:
        """(The lane.) Leave the joined Ray if its head no longer answers (HeadGone): Ray ends a
        driver whose head stays gone a minute, the whole server with it."""
        import ray

        if not ray.is_initialized():
            return
        try:
            probe(ray.get_runtime_context().gcs_address)
        except ServiceUnavailable as error:
            with self._lock:
                self._trouble = str(error)  # told while leaving takes its seconds
            self._leave()
            raise HeadGone(str(error)) from error

    def _leave(self) -> None:
        """Leave Ray, forgetting what lived in it; the next attempt joins (or starts) it afresh."""
        import ray

        ray.shutdown()
        self._head = None
        self._datasets.clear()
        with self._lock:
            self._views.clear()

    def worker_class(self):
        """The Ray actor class of a run (lane only)."""
        if self._worker_class is None:
            import ray

            from cnnviz.training.worker import TrainingWorker

            self._worker_class = ray.remote(TrainingWorker)
        return self._worker_class

    def put_dataset(self, dataset):
        """A reference to dataset's four arrays in Ray's object store, put once (lane only)."""
        import ray

        key = id(dataset)
        if key not in self._datasets:
            arrays = {name: getattr(dataset, name) for name in ("x_train", "y_train", "x_test",
                                                                "y_test")}
            self._datasets[key] = (dataset, ray.put(arrays))  # dataset kept: its id stays unique
            while len(self._datasets) > DATASETS_KEPT:
                self._datasets.popitem(last=False)
        self._datasets.move_to_end(key)
        return self._datasets[key][1]

    def queue_view(self, root) -> QueueView:
        """The live runs (queued or training) of every replica, at most QUEUE_VIEW_SECONDS old."""
        import ray

        with self._lock:
            taken, view = self._views.get(root, (0.0, None))
            if time.monotonic() - taken < QUEUE_VIEW_SECONDS:
                return view
        actors = ray.util.list_named_actors()
        view = QueueView(actors, root, int(ray.cluster_resources().get("CPU", 1)))
        with self._lock:
            self._views[root] = (time.monotonic(), view)
        return view

    def forget_queue_view(self, root) -> None:
        with self._lock:
            self._views.pop(root, None)

    def shutdown(self) -> None:
        """Leave Ray (an embedded Ray stops), on the lane that joined it."""
        self._lane.submit(self._leave).result()


SERVICE = TrainingService()
