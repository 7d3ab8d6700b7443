"""The classroom benchmark's memory figures (benchmarks/memory.py): the window, the slope, the
first and last windows' p95, and the sampler against this test's own process tree."""

import asyncio
import glob
import os
import random
import subprocess
import sys
import time

import pytest

from benchmarks import memory

# Debian's libjemalloc2, when installed: a process preloading it must be told apart from glibc's
JEMALLOC = next(iter(sorted(glob.glob("/usr/lib/*-linux-gnu/libjemalloc.so.2"))), None)


@pytest.mark.parametrize("minutes, window", [(60, 10), (30, 10), (15, 5), (3, 1)])
def test_the_window_is_ten_minutes_or_a_third_of_a_shorter_class(minutes, window):
    assert memory.window_seconds(minutes * 60) == pytest.approx(window * 60)


def test_slope_is_mb_per_hour_of_a_noisy_line():
    rng = random.Random(0)
    samples = [(at, 200 + 0.01 * at + rng.uniform(-1, 1)) for at in range(0, 3600, 30)]
    assert memory.slope_mb_per_hour(samples) == pytest.approx(36, abs=1)


def test_slope_needs_two_instants():
    assert memory.slope_mb_per_hour([]) is None
    assert memory.slope_mb_per_hour([(60.0, 200.0), (60.0, 210.0)]) is None


def test_growth_ignores_the_settling_window_and_what_comes_after_the_class():
    # 30 min: the first 10 min rise by 100 MB, then flat; after the class the students leave
    warm = [(at, 100 + at / 6) for at in range(0, 600, 30)]
    flat = [(at, 200.0) for at in range(600, 1801, 30)]
    left = [(at, 50.0) for at in range(1830, 1900, 30)]
    before = [(-30.0, 10.0)]
    growth = memory.growth({"replica 1": before + warm + flat + left,
                            "replica 2": [(at, 300 + at / 36) for at in range(0, 1801, 30)]},
                           30 * 60)
    assert growth["replica 1"] == pytest.approx(0, abs=1e-9)
    assert growth["replica 2"] == pytest.approx(100)


def test_pace_compares_the_first_and_last_windows_of_a_short_class():
    # 15 min class: windows of 5 min; slow changes only in the last 5 min
    changes = [(at, 0.1) for at in range(0, 600, 3)] + [(at, 0.5) for at in range(600, 901, 3)]
    changes.append((905.0, 9.0))  # after the class: not counted
    figures = memory.pace(changes, 15 * 60)
    assert figures["p95_first_10min_ms"] == pytest.approx(100)
    assert figures["p95_last_10min_ms"] == pytest.approx(500)
    assert figures["changes_first_window"] == 100 and figures["changes_last_window"] == 101


def test_pace_without_changes_is_none_not_zero():
    assert memory.pace([], 600)["p95_last_10min_ms"] is None


def test_sampler_names_each_streamlit_process_under_the_root_and_the_report_says_the_window():
    # argv[1:4] names streamlit; "up" once Python runs: read at once after exec, a process's RSS
    # is the loader's few pages, under 1 MB (seen in CI under load)
    fake = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)",
            "streamlit"]
    preloads = [{}, {"LD_PRELOAD": JEMALLOC} if JEMALLOC else {}]  # the second's, when installed
    plain = {name: value for name, value in os.environ.items() if name != "LD_PRELOAD"}
    children = [subprocess.Popen(fake, env={**plain, **preload}, stdout=subprocess.PIPE)
                for preload in preloads]
    try:
        for child in children:
            assert child.stdout.readline() == b"up\n"
        replicas = memory.ReplicaMemory(os.getpid(), every=0.05)

        async def watch():  # until two readings of each child, at most 20 s on a busy machine
            task = asyncio.create_task(replicas.run())
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    len(replicas.series) == 2
                    and all(len(samples) >= 2 for samples in replicas.series.values())):
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(watch())
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert sorted(replicas.names) == sorted(child.pid for child in children)
    assert set(replicas.series) == {"replica 1", "replica 2"}
    assert all(len(samples) >= 2 and all(mb > 1 for _, mb in samples)
               for samples in replicas.series.values())
    start = min(at for samples in replicas.series.values() for at, _ in samples)
    result = memory.figures(replicas, start, 0.003, [(0.01, 0.2)])
    result["minutes"] = 0.003
    assert set(result["rss_growth_mb_per_hour"]) == {"replica 1", "replica 2"}
    by_pid = {pid: result["allocator"][name] for pid, name in replicas.names.items()}
    assert [by_pid[child.pid] for child in children] == [
        "glibc", "jemalloc" if JEMALLOC else "glibc"]
    text = memory.report(result)
    assert "a third of a class under 30 min" in text and "replica 2" in text
    assert "glibc" in text
    # the kernel's split of each child's RSS: a sleeping Python has anonymous memory and mapped
    # libraries, one thread, no Ray
    for name in ("replica 1", "replica 2"):
        rows = result["rss_parts_samples"][name]
        assert len(rows) >= 2 and all(anon > 1 and file > 1 and threads == 1
                                      for _, anon, file, _, threads in rows)
        assert set(result["rss_parts_growth_mb_per_hour"][name]) == set(memory.PARTS)
        assert result["ray_driver"][name] is False
    assert "not a Ray driver" in text and "threads 1 -> 1" in text


def test_parts_figures_split_the_growth_and_keep_the_tail_apart():
    # 10 min class sampled every minute, then 3 min with nobody: anon grows 6 MB/10 min in the
    # class, file is flat; the tail comes back down 4 MB, which the slope must not see
    replicas = memory.ReplicaMemory(0)
    for minute in range(14):
        anon = 100 + 0.6 * minute if minute <= 10 else 102
        parts = {"RssAnon": anon, "RssFile": 50.0, "RssShmem": 0.0, "threads": 7 + minute // 10,
                 "ray": False}
        replicas.series.setdefault("replica 1", []).append((minute * 60.0, anon + 50))
        replicas.parts.setdefault("replica 1", []).append((minute * 60.0, parts))
    result = memory.parts_figures(replicas, 0.0, 600.0)
    split = result["rss_parts_growth_mb_per_hour"]["replica 1"]
    assert split["RssAnon"] == pytest.approx(36, abs=0.5) and split["RssFile"] == 0
    assert result["threads_first_last"]["replica 1"] == [7, 8]
    assert result["rss_class_end_and_tail_end_mb"]["replica 1"] == [156.0, 152.0]


def test_the_tail_keeps_sampling_after_the_class_and_is_bounded():
    from benchmarks import classroom

    calls = []

    class Counting(memory.ReplicaMemory):
        def sample(self):
            calls.append(time.monotonic())

    async def lesson():
        return "class over"

    began = time.monotonic()
    assert asyncio.run(classroom._watched(Counting(0, every=0.02), lesson(), 0.005)) == "class over"
    assert time.monotonic() - began >= 0.3 and len(calls) >= 5  # 0.3 s of tail, every 0.02 s
    assert classroom.parse_args(["--tail", "2"]).tail == 2
    with pytest.raises(SystemExit):
        classroom.parse_args(["--tail", str(classroom.MAX_TAIL_MINUTES + 1)])
