"""Processes found by where they came from (parentage, session) and ended within a bound.

Stopping the app must leave none of its processes behind, and must touch nobody else's: other
programs on the machine run Ray too, so a process is never picked by its name. What an embedded
Ray started is found as this process's children that run Ray's own programs, with everything
below them (its agents and workers; once stopping, also what they orphan, which this process
adopts); what a supervised part started, as its session (Ray's
workers leave their parent's process group, not its session). A process is known by its pid and
its start time together, so that a pid the kernel hands to a newcomer meanwhile is never signalled.
Linux only (/proc), as the app; elsewhere nothing is found. leave_ray_within is how the training
service stops at exit: Ray left in an orderly way if it can be, in a bound, and killed if not.
"""

import atexit
import contextlib
import ctypes
import importlib.util
import os
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
POLL_SECONDS = 0.05
KILLED_SECONDS = 1.0  # how long a SIGKILLed process may take to go (a busy machine's scheduler)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


@dataclass(frozen=True)
class Proc:
    """One process: its pid and start time (clock ticks after boot), its parent and session."""

    pid: int
    start: int
    ppid: int
    session: int

    def alive(self) -> bool:
        """Still this process (not a newcomer with its pid) and not a zombie."""
        now = read(self.pid)
        return now is not None and now.start == self.start and not now.zombie

    def signal(self, signum: int) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass


@dataclass(frozen=True)
class _Stat(Proc):
    zombie: bool = False


def read(pid: int) -> _Stat | None:
    """The process `pid` as /proc says now, or None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ... starttime(22nd)": comm may hold spaces and parens
    fields = text[text.rindex(")") + 2:].split()
    return _Stat(pid, int(fields[19]), int(fields[1]), int(fields[3]), zombie=fields[0] in "ZX")


def every() -> list[_Stat]:
    """Every process of the machine now (those this user may see)."""
    pids = [int(name) for name in os.listdir(PROC) if name.isdigit()] if PROC.is_dir() else []
    return [stat for stat in map(read, pids) if stat is not None]


def descendants(roots: Iterable[int], processes: list[_Stat] | None = None) -> list[Proc]:
    """The processes `roots` (pids) and all those below them, alive now."""
    processes, roots = every() if processes is None else processes, set(roots)
    found = [p for p in processes if p.pid in roots]
    seen = {p.pid for p in found}
    while True:
        below = [p for p in processes if p.ppid in seen and p.pid not in seen]
        if not below:
            return [Proc(p.pid, p.start, p.ppid, p.session) for p in found if not p.zombie]
        found += below
        seen |= {p.pid for p in below}


def in_sessions(sessions: Iterable[int]) -> list[Proc]:
    """The live processes of the given sessions (session ids: the pids of their leaders)."""
    wanted = set(sessions)
    return [Proc(p.pid, p.start, p.ppid, p.session) for p in every()
            if p.session in wanted and not p.zombie]


def started_ray() -> list[Proc]:
    """What a Ray started by this process runs now: its children that run Ray's programs (GCS
    server, raylet, monitors; started by ray.init; or adopted orphans, workers and agents, which
    rename themselves `ray::...`) and everything below them (agents, workers). Nothing when this
    process only joined a cluster."""
    spec = importlib.util.find_spec("ray")  # where Ray is installed, without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    home = os.fsencode(os.path.join(list(spec.submodule_search_locations)[0], ""))
    processes, me = every(), os.getpid()
    roots = [p.pid for p in processes if p.ppid == me
             and (home in _command(p.pid) or _command(p.pid).startswith(b"ray::"))]
    return descendants(roots, processes)


def adopt_orphans(adopt: bool = True) -> None:
    """(Linux) Make this process the subreaper of what it started (adopt), or no longer: a
    descendant orphaned meanwhile is reparented to it, not to init. A process the raylet starts
    while it is being ended (a worker, an agent) would otherwise be out of reach of started_ray()
    once orphaned, and could outlive the stopped server; adopted, it is found. Only while
    stopping: an adopted child that ends stays a zombie until reaped (reap_adopted)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(adopt), 0, 0, 0)


def reap_adopted(own: set[int]) -> None:
    """Reap this process's children that ended, except `own` (its children before it adopted:
    theirs is the Popen that started them)."""
    for child in [p.pid for p in every() if p.ppid == os.getpid() and p.pid not in own]:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, os.WNOHANG)


def leave_ray_within(leave: Callable[[], Future], seconds: float) -> None:
    """Ray left (leave(): its future) and every process of a Ray started here ended, within
    `seconds` (+ twice KILLED_SECONDS at most): what is left at the bound gets SIGTERM, then
    SIGKILL, and so do orphans adopted meanwhile."""
    deadline = time.monotonic() + seconds
    own = {p.pid for p in every() if p.ppid == os.getpid()}
    adopt_orphans()  # what the raylet starts while it is being ended stays below this process
    try:
        started = started_ray()  # before leaving: once the raylet is gone its agents are orphans
        try:
            leave().exception(timeout=max(0.0, seconds - 1.0))
        except TimeoutError:  # stuck (a hung Ray): Ray's own exit hook would wait for it
            import ray

            atexit.unregister(ray.shutdown)
        left = {*started, *started_ray()}  # with what a start under way added since
        end_within(list(left), deadline - time.monotonic(), signal.SIGTERM)
        end_within(started_ray(), 0.0, signal.SIGKILL)  # orphans adopted while those ended
    finally:  # a process that lives on (a test's) neither adopts nor keeps zombies
        adopt_orphans(False)
        reap_adopted(own)


def _command(pid: int) -> bytes:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def end_within(processes: list[Proc], seconds: float, signum: int | None = None) -> list[Proc]:
    """Send signum (if given) to every process, give them `seconds` to go, SIGKILL the others;
    those still there KILLED_SECONDS later (stuck in the kernel), or [] once all are gone."""
    if signum is not None:
        for process in processes:
            process.signal(signum)
    left = _wait_gone(processes, seconds)
    for process in left:
        process.signal(signal.SIGKILL)
    return _wait_gone(left, KILLED_SECONDS)


def _wait_gone(processes: list[Proc], seconds: float) -> list[Proc]:
    deadline = time.monotonic() + seconds
    while True:
        left = [process for process in processes if process.alive()]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(POLL_SECONDS)
