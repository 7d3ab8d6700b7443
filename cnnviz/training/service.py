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

A head that dies under the runs: the followers make no Ray call without a time limit, and each
goes through ray_call(), which knocks on the head first and raises HeadGone once it is gone; a
call to the head itself (which waits a minute on a dead one) runs on a thread of its own, waited
for HEAD_CALL_SECONDS at most. The lane then leaves that Ray, but only once no follower is inside a
Ray call (one cut by ray.shutdown leaves the next ray.init hanging) and the runs that trained in
it ended (Ray fails their tasks about a second after their workers died; failed during
ray.shutdown instead, Ray ends this whole process), and submits the runs that were waiting in
it again, in their order (enlist), to the Ray it joins or starts next.

Ray's own clean-up at exit comes too late: the kernel kills an embedded Ray's GCS server and raylet
with the thread that started them, not the raylet's agents, which then spend a minute telling the
dead GCS server of its death. So stop() runs first (an exit hook): it refuses every follower's Ray
call, leaves Ray on the lane once the calls in flight ended (a call, or a Ray object dropped, as
ray.shutdown ends the core worker makes Ray's core end this whole process before its agents are
killed), and kills what is left at its bound (cnnviz.training.processes).
"""

import atexit
import collections
import contextlib
import gc
import logging
import os
import threading
import time
import traceback
from concurrent.futures import Future

from cnnviz.training import processes
from cnnviz.training.lane import Lane
from cnnviz.training.limits import RAY_SYSTEM_CONFIG, max_runs
from cnnviz.training.reach import PROBE_SECONDS, HeadGone, ServiceUnavailable, probe  # noqa: F401
from cnnviz.training.waiting import QueueView, Typical

ADDRESS_ENV = "CNNVIZ_RAY_ADDRESS"
NAMESPACE = "cnnviz-training"  # the runs of every replica, and only those
OBJECT_STORE_BYTES = 256 * 2**20  # datasets (55 MB for 70,000 digits) and checkpoints in flight
QUEUE_VIEW_SECONDS = 1.0  # a queue view serves every waiting run of this process this long
DATASETS_KEPT = 4  # datasets put in Ray's object store, most recently used
RETRY_SECONDS, RETRY_MAX_SECONDS = 1.0, 10.0  # waits between attempts to reach Ray
STARTING_NOTICE_SECONDS = 3.0  # a start that takes longer is told to the waiting students
WATCH_SECONDS = 5.0  # how often the joined head is knocked on (Ray ends us 60 s after it died)
HEAD_CALL_SECONDS = 3.0  # a follower waits this long for a call to the head (which may wait 60 s)
LEAVE_WAIT_SECONDS = 20.0  # leaving waits at most this long for the followers' Ray calls to end
STOP_SECONDS = 4.0  # at exit: leaving Ray (ray.shutdown: ~2 s at load 30), then killing the rest
CALL_WAIT_SECONDS = 0.5  # a follower's wait for news: at exit, calls in flight end within...
STOP_CALLS_SECONDS = 1.0  # ...this, then ray.shutdown (~2 s) fits in STOP_SECONDS - 1 s


class TrainingService:
    """The process's connection to Ray, and the lane that submits runs to it.

    address: a cluster's address, "local" for an embedded Ray; None reads $CNNVIZ_RAY_ADDRESS
    when Ray starts (unset: embedded).
    """

    def __init__(self, address: str | None = None):
        self.address = address
        self.typical = Typical()
        self._lane = Lane("cnnviz-ray-lane")  # not waited for at exit: stop() is, in its bound
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
        self.generation = 0  # how many times Ray was left: a run's actor lives in one generation
        self._calls = 0  # followers' Ray calls in flight
        self._calls_done = threading.Condition(self._lock)
        self._restarting = False  # the trouble is a head that stopped answering
        self._runs: dict = {}  # actor name -> a run in Ray (its phase; its requeue())
        self._stopping = threading.Event()  # set by stop(): Ray is never reached again
        self._kept: list = []  # Ray objects of ended runs, held until Ray is left (keep)
        self._hooked = False  # _at_exit is one of Python's exit hooks (from the first attempt on)

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
        if trouble and self._restarting:
            return (f"Training is restarting: the training service ({where}) stopped answering "
                    f"({trouble}). Your run is queued and keeps its place; it starts as soon as "
                    "the service is back.")
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
                return work()  # HeadGone from it: the head died since; the next attempt leaves
            except ServiceUnavailable:
                if wanted is None or self._stopping.is_set():
                    raise
            self._stopping.wait(self._retry)  # a stopping server does not wait for a retry
            self._retry = min(self._retry * 2, RETRY_MAX_SECONDS)

    def _connect(self, attempt=None) -> None:
        """Join (or start) Ray, once (or another attempt); its outcome is kept for notice()."""
        if self._stopping.is_set():  # e.g. a follower's suspect() while the server stops
            raise ServiceUnavailable("the server is stopping")
        if not self._hooked:  # threading's exit hooks run before Python ends any thread
            with contextlib.suppress(RuntimeError):  # Python is exiting already
                threading._register_atexit(self._at_exit)
            self._hooked = True
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
            self._restarting = False
        self._retry = RETRY_SECONDS
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="cnnviz-ray-watch")
            self._watcher.start()

    def _watch(self) -> None:
        """(A thread of its own.) Knock on the joined head every WATCH_SECONDS; once it is gone,
        leave Ray on the lane, before Ray ends this whole process for it. Ends with stop()."""
        while not self._stopping.wait(WATCH_SECONDS):
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
                        "object_store_memory": OBJECT_STORE_BYTES, "_node_ip_address": "127.0.0.1",
                        "_system_config": dict(RAY_SYSTEM_CONFIG)}
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
            self.suspect(str(error))  # told while leaving takes its seconds
            self._leave(LEAVE_WAIT_SECONDS)
            with self._lock:
                waiting = [self._runs[name] for name in sorted(self._runs)
                           if self._runs[name].phase in ("queued", "starting")]
                self._runs.clear()
            for run in waiting:  # after the leave: in their order, behind it on the lane
                run.requeue()
            raise HeadGone(str(error)) from error

    def _leave(self, wait: float = 0.0, for_good: bool = False) -> None:
        """Leave Ray, forgetting what lived in it; the next attempt joins (or starts) it afresh.
        First (at most wait seconds) the followers' Ray calls and the runs training end; new
        calls are refused. for_good (stop(), every call refused already): the calls only, for
        STOP_CALLS_SECONDS; one still in flight then (a hung Ray), Ray is not left but killed."""
        import ray

        def quiet() -> bool:
            return self._calls == 0 and (for_good or all(run.phase != "running"
                                                         for run in self._runs.values()))

        with self._lock:
            self._head = None
            ended = self._calls_done.wait_for(quiet, STOP_CALLS_SECONDS if for_good else wait)
            self.generation += 1
        if for_good and not ended:
            atexit.unregister(ray.shutdown)  # at exit it would cut the call all the same
            raise RuntimeError("a Ray call is still in flight: Ray is killed, not left")
        ray.shutdown()
        self._datasets.clear()  # dropped now, they no longer reach Ray's core worker
        self._kept.clear()
        with self._lock:
            self._views.clear()

    def keep(self, objects) -> None:
        """Hold a run's Ray objects that could not be let go of inside a Ray call (refused) until
        Ray is left: dropped meanwhile, they could reach its core worker as ray.shutdown ends it."""
        with self._lock:
            self._kept.append(objects)

    def suspect(self, trouble: str) -> Future | None:
        """The head seems gone (a follower's knock failed): the pages say training restarts, and
        the lane leaves that Ray if its head is indeed gone (the future of that check)."""
        with self._lock:
            if not self._trouble:
                self._trouble, self._restarting = trouble, True
        if threading.current_thread().name.startswith("cnnviz-ray-lane"):
            return None  # the lane itself is leaving
        return self._lane.submit(self._connect, self._leave_if_head_gone)

    @contextlib.contextmanager
    def ray_call(self, generation: int | None = None, knock: bool = True):
        """Around a Ray call outside the lane, which must carry its own time limit: HeadGone at
        once if the server stops, Ray was left (since generation) or (knock) its head does not
        answer a knock or is being left; the lane leaves Ray only once no such call is in flight.
        Its Ray objects are let go of inside, those an error's frames hold too."""
        with self._lock:
            head = self._head
            if self._stopping.is_set() or (knock and head is None) \
                    or generation not in (None, self.generation):
                raise HeadGone("the training service's Ray was left")
            self._calls += 1
        try:
            if knock:
                try:
                    probe(head)
                except ServiceUnavailable as error:
                    raise HeadGone(str(error)) from error
            yield
        except BaseException as error:
            traceback.clear_frames(error.__traceback__)  # the frames still running are left
            raise
        finally:
            self._call_ended()

    def _call_ended(self) -> None:
        with self._lock:
            self._calls -= 1
            self._calls_done.notify_all()

    def head_call(self, call):
        """call() (a Ray call to the head) on a thread of its own, inside ray_call(): its result,
        or HeadGone after HEAD_CALL_SECONDS; it counts as in flight until it returns."""
        with self.ray_call():
            with self._lock:
                self._calls += 1
            answer: Future = Future()

            def run() -> None:
                try:
                    answer.set_result(call())
                except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                    answer.set_exception(error)
                finally:
                    self._call_ended()

            threading.Thread(target=run, daemon=True, name="cnnviz-ray-head-call").start()
            try:
                return answer.result(timeout=HEAD_CALL_SECONDS)
            except TimeoutError as error:
                raise HeadGone(f"Ray's head did not answer within {HEAD_CALL_SECONDS:.0f} s") \
                    from error

    def enlist(self, name: str, run) -> None:
        """run (its actor named name) is in Ray: if its head dies, the lane leaves once run.phase
        is no longer "running", then requeue()s it unless it ended (discharged)."""
        with self._lock:
            self._runs[name] = run

    def discharge(self, name: str | None) -> None:
        """The run named name ended."""
        with self._lock:
            self._runs.pop(name, None)
            self._calls_done.notify_all()

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
        actors, cpus = self.head_call(lambda: (ray.util.list_named_actors(),
                                               int(ray.cluster_resources().get("CPU", 1))))
        view = QueueView(actors, root, cpus)
        with self._lock:
            self._views[root] = (time.monotonic(), view)
        return view

    def forget_queue_view(self, root) -> None:
        with self._lock:
            self._views.pop(root, None)

    def shutdown(self) -> None:
        """Leave Ray (an embedded Ray stops), on the lane that joined it."""
        self._lane.submit(self._leave).result()

    def stop(self, seconds: float = STOP_SECONDS) -> None:
        """Leave Ray for good within `seconds` (+ 2 processes.KILLED_SECONDS), whatever the lane is
        doing: no Ray call begins from now on; an embedded Ray's processes end, killed if need
        be."""
        if not self._stopping.is_set():
            self._stopping.set()  # (ray_call refuses every call from here)
            processes.leave_ray_within(lambda: self._lane.submit(self._leave, 0.0, True), seconds)

    def _at_exit(self) -> None:
        """stop(), then no last garbage collection: Python's walked the server's 200,000 objects
        for 3-4 s of a Ctrl-C at load 20 (0.3-0.5 s without), freeing what exiting frees."""
        self.stop()
        gc.freeze()


SERVICE = TrainingService()
