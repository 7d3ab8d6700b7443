"""Supervised parts of `cnnviz app --replicas K`: restarted when they die, given up when they keep
dying, stopped together within a bound.

`Restarts` decides, from the times of a part's deaths alone, how long to wait before starting it
again (1 s, 2 s, 4 s, ...) or whether to give up (5 deaths within 60 s): pure, so it is tested
without processes. `Supervisor` starts each part in a process group of its own, polls them every
half second, logs one line per death or give-up, and stops them all: SIGTERM to every group at
once, then SIGKILL to whatever is left after a few seconds, so Ctrl-C ends the launcher within
`STOP_SECONDS` plus a poll whatever the parts are doing (a Ray head waiting on a dead peer, a hung
replica). A part's group holds what it started (a Ray head's GCS server, raylet and agents); its
session holds that and more (Ray's workers leave the raylet's group, not its session): both are
killed, by the part's own id, when the part dies or stops; never anything found by a name.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.training import processes

POLL_SECONDS = 0.5  # how often the parts are looked at: a death is noticed within this
STOP_SECONDS = 5.0  # how long all parts together get to stop on SIGTERM before SIGKILL


@dataclass
class Restarts:
    """When a part that died is started again, and when it is given up on.

    Each death waits twice as long as the previous one within `window` s (first, 2 first, ...,
    at most `longest`); the `deaths`-th death within `window` s gives up. Times come from the
    caller (time.monotonic()), so the decision is tested without clocks or processes."""

    first: float = 1.0
    longest: float = 30.0
    deaths: int = 5
    window: float = 60.0
    times: list[float] = field(default_factory=list)

    def died(self, now: float) -> float | None:
        """Record a death at `now`; the seconds to wait before a restart, or None to give up."""
        self.times = [t for t in self.times if now - t < self.window] + [now]
        if len(self.times) >= self.deaths:
            return None
        return min(self.longest, self.first * 2 ** (len(self.times) - 1))


def how_it_ended(code: int) -> str:
    """`exit code 1` or `killed by SIGKILL`, for a Popen returncode."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Part:
    """One supervised process: how to start it, the running one, and its restart state."""

    name: str
    command: list[str]
    popen: dict
    essential: bool  # given up on, nothing serves the class: the launcher stops
    restarts: Restarts = field(default_factory=Restarts)
    output: Path | None = None  # where its stderr goes, rather than the launcher's log
    process: subprocess.Popen | None = None
    restart_at: float | None = None
    given_up: bool = False

    def start(self) -> subprocess.Popen:
        if self.output is None:
            self.process = subprocess.Popen(self.command, start_new_session=True, **self.popen)
        else:
            with self.output.open("ab") as stderr:
                self.process = subprocess.Popen(self.command, start_new_session=True,
                                                stderr=stderr, **self.popen)
        return self.process



def last_line(path: Path | None) -> str:
    """The last line of a part's output (an error's message, after its traceback), or ""."""
    if path is None or not path.is_file():
        return ""
    with path.open("rb") as output:
        output.seek(max(0, output.seek(0, os.SEEK_END) - 4096))
        lines = output.read().decode(errors="replace").splitlines()
    return next((line.strip() for line in reversed(lines) if line.strip()), "")[:200]


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send signum to the process group the supervisor gave `process` (its pid), if any is left."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def end_sessions(started: list[subprocess.Popen]) -> None:
    """SIGKILL whatever is left in the sessions these parts lead (each part leads its own)."""
    processes.end_within(processes.in_sessions(process.pid for process in started), 0)


def log_line(line: str) -> None:
    print(f"cnnviz: {line}", flush=True)


class Supervisor:
    """Child processes started in order, restarted with backoff when they die, stopped together."""

    def __init__(self, log: Callable[[str], None] = log_line,
                 restarts: Callable[[], Restarts] = Restarts):
        self.parts: list[Part] = []
        self.log = log
        self.restarts = restarts

    def start(self, name: str, command: list[str], essential: bool = False,
              output: Path | None = None, **popen) -> subprocess.Popen:
        """Start `command` as the part `name` (Popen keyword arguments in popen); its stderr
        appended to `output` if given, whose last line a death's line then quotes."""
        part = Part(name, command, popen, essential, self.restarts(), output)
        self.parts.append(part)
        return part.start()

    def check(self, now: float | None = None) -> bool:
        """One look at every part: note deaths, start those whose wait is over. False once an
        essential part has been given up on."""
        now = time.monotonic() if now is None else now
        for part in self.parts:
            if part.given_up:
                continue
            if part.restart_at is not None:
                if now >= part.restart_at:
                    part.restart_at = None
                    try:
                        part.start()
                    except OSError as error:  # e.g. the binary was removed: a death too
                        self._died(part, f"could not be started ({error})", now)
            elif (code := part.process.poll()) is not None:
                signal_group(part.process, signal.SIGKILL)  # what it left behind
                end_sessions([part.process])
                words = last_line(part.output)
                self._died(part, how_it_ended(code) + (f" ({words})" if words else ""), now)
        return not any(part.given_up and part.essential for part in self.parts)

    def _died(self, part: Part, how: str, now: float) -> None:
        wait = part.restarts.died(now)
        pid = part.process.pid if part.process else "-"
        recent = len(part.restarts.times)
        if wait is None:
            part.given_up = True
            rest = ("nothing serves the class any more; stopping" if part.essential
                    else "the other parts go on")
            self.log(f"{part.name} (pid {pid}) {how}; it died {recent} times within "
                     f"{part.restarts.window:g} s, giving up on it: {rest}")
            return
        part.restart_at = now + wait
        self.log(f"{part.name} (pid {pid}) {how}; restarting it in {wait:g} s "
                 f"(death {recent} within {part.restarts.window:g} s; "
                 f"given up at {part.restarts.deaths})")

    def run(self) -> int:
        """Supervise until an essential part is given up on (1); Ctrl-C raises KeyboardInterrupt."""
        while self.check():
            time.sleep(POLL_SECONDS)
        return 1

    def stop(self, seconds: float = STOP_SECONDS) -> None:
        """SIGTERM to every part's group at once, latest first; SIGKILL what is left of the
        groups after `seconds`, then of the sessions (processes.KILLED_SECONDS at most)."""
        running = [part.process for part in reversed(self.parts) if part.process is not None]
        for process in running:
            signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in running:  # the leaders that did not stop, and whatever they left
            signal_group(process, signal.SIGKILL)
            process.wait()
        end_sessions(running)
