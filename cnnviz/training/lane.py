"""A lane: one daemon thread that runs the calls given to it in order, each with its Future.

The training service starts and leaves Ray on one long-lived thread (Ray ties the processes it
starts to the thread that started them). A ThreadPoolExecutor's thread would do, except at exit:
Python joins it, without a bound, after every exit hook, so a lane stuck in a Ray call to a hung
Ray (ray.shutdown with its GCS server frozen: 6 s and more) held Ctrl-C past its 10 s. A daemon
thread is not waited for: the service's exit hook leaves Ray within its own bound instead.
"""

import queue
import threading
from concurrent.futures import Future


class Lane:
    """submit(fn, *args) -> Future, run one after the other on the thread `name`."""

    def __init__(self, name: str):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = threading.Lock()

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        with self._started:  # the thread starts with the first call (a service may get none)
            if not self._thread.is_alive():
                self._thread.start()
        self._calls.put((future, fn, args))
        return future

    def _run(self) -> None:
        while True:
            future, fn, args = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on it
                future.set_exception(error)
