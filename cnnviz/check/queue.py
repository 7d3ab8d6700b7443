"""The server's grading queue: a few grading slots and a bounded waiting list.

Every check the Check page submits waits for a slot, in order; a slot is a thread of the server
that runs one sandboxed child process (runner + sandbox: bubblewrap) at a time, then grades and
diagnoses its arrays. The student's code never runs in the server's process; the slot's thread
mostly waits for its child, so the explorer's pages stay responsive. Slots: $CNNVIZ_CHECK_SLOTS,
default cores - 1 (at least 1), like training runs; beyond MAX_WAITING waiting checks a new one
is refused with "the checker is busy", rather than promising a report minutes away.

Why threads over sandboxed subprocesses and not Ray: Ray is here for TensorFlow training, where
a run lasts minutes and must outlive a page. A check lasts a second or two, is already a child
process isolated by bubblewrap with its own limits, and a Ray worker would add seconds of
start-up and a second copy of the arrays to each check; a bounded thread pool adds neither.
"""

import collections
import functools
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cnnviz.check import sandbox, solution
from cnnviz.check.grade import TaskReport

SLOTS_ENV = "CNNVIZ_CHECK_SLOTS"
MAX_WAITING = 100  # checks waiting for a slot; the next one is refused
# a server's check: the CLI's cases, a shorter time limit (an endless loop holds a slot this long
# per case) and a memory limit that leaves room for the other slots and the server
SERVER_OPTIONS = solution.Options(timeout=10.0, memory_mb=1024, sandbox=True)
# how often a waiting page polls its check's status: (places up to, seconds); further back, the
# last. Every poll is a rerun on the server, and a page far back learns nothing new in a second.
POLL_BANDS = ((2, 1.0), (10, 2.0), (MAX_WAITING, 4.0))
BUSY = ("The checker is busy: {waiting} files are waiting for it. Try again in a minute; "
        "your file stays here.")


def poll_seconds(place: int) -> float:
    """Seconds between a waiting page's status polls for a check at `place` (0: being checked,
    1: next...): every second near the front, less often further back."""
    return next((seconds for last, seconds in POLL_BANDS if place <= last), POLL_BANDS[-1][1])


class Busy(RuntimeError):
    """The waiting list is full; str() is the student's message."""


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start on this server; str() says why. Nothing was graded."""


def default_slots() -> int:
    """$CNNVIZ_CHECK_SLOTS, else cores - 1, at least 1."""
    value = os.environ.get(SLOTS_ENV, "")
    try:
        slots = int(value) if value else max(1, (os.cpu_count() or 2) - 1)
    except ValueError:
        slots = 0
    if slots < 1:
        raise ValueError(f"{SLOTS_ENV} must be a positive integer, got {value!r}")
    return slots


class Ticket:
    """One submitted check: its place while it waits, then its result or its error."""

    def __init__(self, queue: "CheckQueue", work: Callable):
        self._queue, self.work = queue, work
        self._done = threading.Event()
        self.result = None
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def place(self) -> int:
        """1 for the next check to start, 2 for the one after...; 0 once it is being checked."""
        return self._queue.place(self)

    def wait(self, timeout: float | None = None) -> bool:
        """True once done (False when `timeout` seconds passed first)."""
        return self._done.wait(timeout)

    def _finish(self, result, error: BaseException | None) -> None:
        self.result, self.error, self.work = result, error, None
        self._done.set()


class CheckQueue:
    """`slots` threads (started on the first submission) serving a list of at most
    `max_waiting` waiting tickets, first come first served. Thread-safe."""

    def __init__(self, slots: int | None = None, max_waiting: int = MAX_WAITING):
        self.slots = slots if slots is not None else default_slots()
        self.max_waiting = max_waiting
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.running = 0

    def submit(self, work: Callable) -> Ticket:
        """Queue work() for a slot; Busy when MAX_WAITING checks are waiting already."""
        with self._changed:
            if len(self._waiting) >= self.max_waiting:
                raise Busy(BUSY.format(waiting=len(self._waiting)))
            ticket = Ticket(self, work)
            self._waiting.append(ticket)
            if len(self._threads) < self.slots:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"cnnviz-check-slot-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._changed.notify()
        return ticket

    def place(self, ticket: Ticket) -> int:
        with self._changed:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _serve(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting)
                ticket = self._waiting.popleft()
                self.running += 1
            try:
                result, error = ticket.work(), None
            except Exception as caught:  # noqa: BLE001 - the ticket carries it to the page
                result, error = None, caught
            with self._changed:
                self.running -= 1
            ticket._finish(result, error)


def check_in_sandbox(name: str, source: bytes | str, tasks: list[str],
                     options: solution.Options | None = None) -> list[TaskReport]:
    """Check `source` (the student's file `name`, as sent or as text) for each task, in the
    sandbox whatever `options` say (default SERVER_OPTIONS); SandboxUnavailable when it cannot
    start here."""
    options = options or SERVER_OPTIONS
    ok, reason = sandbox.available()
    if not ok:
        raise SandboxUnavailable(reason)
    name = solution.safe_name(name)
    with tempfile.TemporaryDirectory(prefix="cnnviz-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(source.encode() if isinstance(source, str) else source)
        reports = [solution.check_task(path, task, replace(options, sandbox=True))
                   for task in tasks]
    return [replace(report, path=Path(name)) for report in reports]


@functools.cache
def shared() -> CheckQueue:
    """The server's one queue: every session of this process shares its slots."""
    return CheckQueue()
