"""Memory and pace over a long class, for `python -m benchmarks classroom`: does a replica grow?

While the class works, ReplicaMemory reads every SAMPLE_SECONDS the RSS of each Streamlit process
under the server's root (the server itself, or each replica under a `cnnviz app --replicas`
launcher). `figures` then fits, per replica, a least-squares line to the RSS sampled after a
settling window and gives its slope in MB per hour, and compares the p95 of the changes in the
first window with the p95 in the last window. Each replica's allocator (jemalloc when the process
maps libjemalloc, e.g. `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 python -m benchmarks
classroom ...`, which every process it starts inherits; else glibc) is in the figures, so that
an A/B of the two says which run was which (BENCHMARKS.md, "Lesson memory").

The window is WINDOW_MINUTES (10 min) for a class of 30 minutes or more, and a third of the class
for a shorter one (a 15-minute class: fit after 5 min, p95 of its first and last 5 min); the
figures say which window they used ("memory_window_min").

Each sample also splits the RSS as the kernel counts it (/proc/PID/status): RssAnon (malloc's
heap and arenas, thread stacks), RssFile (mapped files: libraries, datasets) and RssShmem
(shared memory, e.g. Ray's object store), with the number of threads and whether the process is
a Ray driver (it maps `_raylet`): what grows says where to look. Samples taken after the class,
while `python -m benchmarks classroom --tail M` keeps the server up with nobody on it, say
whether the growth comes back down (a backlog drains, a leak stays).
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field

SAMPLE_SECONDS = 30.0
WINDOW_MINUTES = 10.0


def window_seconds(duration: float) -> float:
    """The settling and comparison window of a class lasting `duration` s: WINDOW_MINUTES, or a
    third of a class shorter than three windows."""
    return min(WINDOW_MINUTES * 60, duration / 3)


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) samples, in MB per hour; None under two instants."""
    times = [at for at, _ in samples]
    if len(set(times)) < 2:
        return None
    return statistics.linear_regression(times, [mb for _, mb in samples]).slope * 3600


def growth(series: dict[str, list[tuple[float, float]]], duration: float) -> dict:
    """{replica: MB per hour} fitted to each replica's samples taken between the end of the
    first window and the end of the class (samples at seconds since the class started)."""
    settled = window_seconds(duration)
    return {name: slope_mb_per_hour([(at, mb) for at, mb in samples
                                     if settled <= at <= duration])
            for name, samples in series.items()}


def p95_ms(seconds: list[float]) -> float | None:
    """The 95th percentile of `seconds`, in ms (inclusive method; the one value alone)."""
    if len(seconds) < 2:
        return seconds[0] * 1e3 if seconds else None
    return statistics.quantiles(seconds, n=20, method="inclusive")[18] * 1e3


def pace(changes: list[tuple[float, float]], duration: float) -> dict:
    """p95 (ms) of the changes (at, seconds) that ended in the first window of the class and of
    those that ended in its last window."""
    window = window_seconds(duration)
    first = [seconds for at, seconds in changes if at < window]
    last = [seconds for at, seconds in changes if duration - window <= at <= duration]
    return {"p95_first_10min_ms": p95_ms(first), "p95_last_10min_ms": p95_ms(last),
            "changes_first_window": len(first), "changes_last_window": len(last)}


def allocator_of(pid: int) -> str:
    """"jemalloc" when process pid maps libjemalloc, else "glibc" (also when its maps are gone)."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return "jemalloc" if "libjemalloc" in maps.read() else "glibc"
    except OSError:
        return "glibc"


PARTS = ("RssAnon", "RssFile", "RssShmem")  # the RSS as /proc/PID/status splits it


def breakdown(pid: int) -> dict:
    """{part: MB for PARTS, "threads": n, "ray": maps Ray's `_raylet`} of process pid ({} once
    it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        with open(f"/proc/{pid}/maps") as maps:
            ray = "_raylet" in maps.read()
    except OSError:
        return {}
    parts = {part: int(fields[part].split()[0]) / 1024 for part in PARTS if part in fields}
    return {**parts, "threads": int(fields["Threads"]), "ray": ray}


@dataclass
class ReplicaMemory:
    """RSS of each Streamlit process under `root`, read every `every` s: series by replica
    ("replica 1", ... in the order the processes were first seen, pids apart), as (monotonic
    time, MB)."""

    root: int
    every: float = SAMPLE_SECONDS
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    allocators: dict[str, str] = field(default_factory=dict)  # replica -> "jemalloc" or "glibc"
    parts: dict[str, list[tuple[float, dict]]] = field(default_factory=dict)  # (time, breakdown)

    def sample(self) -> None:
        """One reading of every Streamlit process under the root (a dead one is skipped)."""
        import psutil

        from benchmarks.server import _runs_streamlit

        try:
            top = psutil.Process(self.root)
            tree = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        now = time.monotonic()
        for process in sorted(tree, key=lambda process: process.pid):
            try:
                if not _runs_streamlit(process):
                    continue
                mb = process.memory_info().rss / 2**20
            except psutil.Error:
                continue
            name = self.names.setdefault(process.pid, f"replica {len(self.names) + 1}")
            if name not in self.allocators:
                self.allocators[name] = allocator_of(process.pid)
            self.series.setdefault(name, []).append((now, mb))
            self.parts.setdefault(name, []).append((now, breakdown(process.pid)))

    async def run(self) -> None:
        """Sample now and every `every` s until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    def since(self, start: float) -> dict[str, list[tuple[float, float]]]:
        """The series with times in seconds since `start` (a monotonic time)."""
        return {name: [(at - start, mb) for at, mb in samples]
                for name, samples in self.series.items()}


def figures(memory: ReplicaMemory, start: float, minutes: float,
            changes: list[tuple[float, float]]) -> dict:
    """The JSON line's memory figures: growth per replica, the first and last windows' p95.

    start is the class's start (monotonic); changes are (seconds since start when the change
    ended, its seconds)."""
    duration = minutes * 60
    series = memory.since(start)
    return {
        "rss_growth_mb_per_hour": growth(series, duration),
        **parts_figures(memory, start, duration),
        "memory_window_min": window_seconds(duration) / 60,
        "allocator": dict(memory.allocators),
        **pace(changes, duration),
        "rss_samples_mb": {name: [[round(at / 60, 2), round(mb, 1)] for at, mb in samples]
                           for name, samples in series.items()},
    }


def parts_figures(memory: ReplicaMemory, start: float, duration: float) -> dict:
    """Per replica: the growth (MB/h, same window as the RSS) of each part of PARTS, its threads
    at the first and last samples of the class, whether it was a Ray driver, and its RSS at the
    class's end and at the end of the samples after it (the tail; equal without one)."""
    growths, threads, ray, tail = {}, {}, {}, {}
    for name, samples in memory.parts.items():
        timed = [(at - start, parts) for at, parts in samples if parts]
        inside = [(at, parts) for at, parts in timed if 0 <= at <= duration] or timed
        growths[name] = growth({part: [(at, parts[part]) for at, parts in timed if part in parts]
                                for part in PARTS}, duration)
        threads[name] = [inside[0][1]["threads"], inside[-1][1]["threads"]] if inside else []
        ray[name] = any(parts["ray"] for _, parts in timed)
        rss = [(at, mb) for at, mb in memory.since(start)[name]]
        ended = [mb for at, mb in rss if at <= duration]
        tail[name] = [round(ended[-1], 1) if ended else None, round(rss[-1][1], 1)]
    return {"rss_parts_growth_mb_per_hour": growths, "threads_first_last": threads,
            "ray_driver": ray, "rss_class_end_and_tail_end_mb": tail,
            "rss_parts_samples": {  # [minute, RssAnon, RssFile, RssShmem (MB), threads]
                name: [[round((at - start) / 60, 2), *(round(parts.get(part, 0), 1)
                                                       for part in PARTS), parts["threads"]]
                       for at, parts in samples if parts]
                for name, samples in memory.parts.items()}}


def report(result: dict) -> str:
    """The memory paragraph of the Markdown."""
    window = result["memory_window_min"]
    which = ("the first 10 min" if window == WINDOW_MINUTES
             else f"the first {window:.1f} min (a third of a class under 30 min)")
    allocators = result.get("allocator", {})
    growth_text = ", ".join(f"{name} {_number(slope, '+.0f')} MB/h "
                            f"({_ends(samples, result['minutes'])}, "
                            f"{allocators.get(name, 'allocator unknown')})"
                            for name, samples, slope in _per_replica(result))
    return (f"RSS growth per replica, fitted after {which}, sampled every "
            f"{SAMPLE_SECONDS:.0f} s: {growth_text or 'no samples'}. p95 of the changes in the "
            f"first {window:.1f} min {_number(result['p95_first_10min_ms'], '.0f')} ms "
            f"({result['changes_first_window']}), in the last {window:.1f} min "
            f"{_number(result['p95_last_10min_ms'], '.0f')} ms ({result['changes_last_window']})."
            + _parts_text(result))


def _parts_text(result: dict) -> str:
    """Each replica's growth by part, threads, Ray, and RSS after the class (parts_figures)."""
    texts = []
    for name, growths in result.get("rss_parts_growth_mb_per_hour", {}).items():
        split = ", ".join(f"{part[3:].lower()} {_number(slope, '+.0f')}"
                          for part, slope in growths.items())
        threads = result["threads_first_last"][name]
        ended, tail = result["rss_class_end_and_tail_end_mb"][name]
        texts.append(f"{name}: {split} MB/h; threads {' -> '.join(map(str, threads))}; "
                     f"{'a' if result['ray_driver'][name] else 'not a'} Ray driver; RSS "
                     f"{_number(ended, '.0f')} MB at the end, {_number(tail, '.0f')} MB at the "
                     "last sample")
    return (" By part: " + "; ".join(texts) + ".") if texts else ""


def _per_replica(result: dict):
    for name, slope in result["rss_growth_mb_per_hour"].items():
        yield name, result["rss_samples_mb"][name], slope


def _ends(samples: list, minutes: float) -> str:
    inside = [mb for minute, mb in samples if 0 <= minute <= minutes]
    return f"{inside[0]:.0f} -> {inside[-1]:.0f} MB" if inside else "no samples in the class"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
