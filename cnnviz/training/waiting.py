"""Where a waiting run stands in Ray's queue and when it should start: an estimate for the page.

Ray's scheduler alone decides which run gets a free CPU: first come, first served among runs
that ask for the same resources, and every run asks for the same (queueing.RUN_RESOURCES). This
room only reads what every server replica sharing the Ray cluster and the runs folder sees:
the runs' actors alive in Ray, named `<submission time in ns>-<run folder>` so that their names
sort in submission order, and the run folders' run.json (status, expected_seconds, eta_at).
A live actor whose record it cannot read (a run that just ended, or one recorded in another
runs folder) is left out.
A run's expected duration comes from typical speeds: the defaults below (one run on one core of
the 2-core reference machine, busy), then what the runs this process followed measured.
"""

import heapq
import time
from dataclasses import dataclass
from pathlib import Path

from cnnviz.training.config import TrainConfig
from cnnviz.training.runs import live_status, read_record

STARTUP_SECONDS = {"keras": 8.0, "tf1": 6.0, "numpy": 2.0}  # worker start to first batch
# training images per second from the first batch to the end (validation and test included)
IMAGES_PER_SECOND = {"keras": 2000.0, "tf1": 4000.0, "numpy": 1500.0}
DEFAULT_RUN_SECONDS = 60.0  # a record that does not say how long its run should take


def actor_name(submitted_ns: int, run_name: str) -> str:
    """The name of a run's actor: sorts by submission time, ends with the run folder's name."""
    return f"{submitted_ns:020d}-{run_name}"


def run_name_of(actor: str) -> str:
    return actor.split("-", 1)[1]


class Typical:
    """Typical start-up time and speed of a run per backend: the defaults, then the last runs'."""

    def __init__(self):
        self.startup, self.speed = dict(STARTUP_SECONDS), dict(IMAGES_PER_SECOND)

    def observe(self, backend: str, startup_seconds: float, images_per_second: float) -> None:
        """A run that trained: the typical figures move halfway towards its own."""
        self.startup[backend] = (self.startup[backend] + startup_seconds) / 2
        if images_per_second > 0:
            self.speed[backend] = (self.speed[backend] + images_per_second) / 2

    def seconds(self, config: TrainConfig, train_images: int) -> float:
        """Expected seconds from a worker's start to the end of a run of config."""
        return (self.startup[config.backend]
                + config.epochs * train_images / self.speed[config.backend])


def starts_in(running_left: list[float], queued_ahead: list[float], slots: int) -> float:
    """Seconds until a free slot for the next run, given the seconds the running runs have left
    and the expected durations of the runs queued ahead of it, in order, on `slots` slots."""
    free = sorted(running_left)[:slots] + [0.0] * max(0, slots - len(running_left))
    heapq.heapify(free)
    for seconds in queued_ahead:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return free[0]


@dataclass(frozen=True)
class LiveRun:
    """A run alive in Ray, as its record tells: "queued", "running" or "unknown"."""

    status: str
    seconds_left: float  # running: until it ends; queued: its expected duration


def live_run(root: Path, actor: str, now: float) -> LiveRun:
    try:
        record = read_record(root / run_name_of(actor))
        status = live_status(record)
    except (ValueError, KeyError, IndexError):
        return LiveRun("unknown", 0.0)
    expected = record.get("expected_seconds") or DEFAULT_RUN_SECONDS
    if status == "running":
        return LiveRun(status, max(0.0, (record.get("eta_at") or now + expected) - now))
    return LiveRun(status, expected)


class QueueView:
    """The runs alive in Ray at one moment: how many wait, and where a given one stands.

    actors: the live runs' actor names; root: the runs folder; slots: runs trained at once.
    """

    def __init__(self, actors: list[str], root: Path, slots: int, now: float | None = None):
        self.now = time.time() if now is None else now
        self.actors, self.slots = sorted(actors), max(1, slots)
        self.runs = {actor: live_run(Path(root), actor, self.now) for actor in self.actors}

    def waiting(self) -> int:
        """Runs waiting for a slot."""
        return sum(run.status == "queued" for run in self.runs.values())

    def where(self, actor: str) -> tuple[int, float]:
        """(place in the queue from 1, seconds until it should start) of the run named actor."""
        ahead = [self.runs[name] for name in self.actors if name < actor]
        running = [run.seconds_left for run in self.runs.values() if run.status == "running"]
        queued = [run.seconds_left for run in ahead if run.status == "queued"]
        return len(queued) + 1, starts_in(running, queued, self.slots)
