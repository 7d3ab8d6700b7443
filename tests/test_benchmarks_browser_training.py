"""benchmarks/browser_training.py's parts that need no browser: finding the run's Ray worker in
/proc and switching the phases (the trainer's tab and the worker)."""

import subprocess
import time
from pathlib import Path

import pytest

from benchmarks import browser_training


@pytest.fixture
def fake_worker(tmp_path):
    """A process named as Ray names a training worker, with the server's runs folder in its
    environment, as the run's worker inherits it."""
    process = subprocess.Popen(["ray::TrainingWorker.run", "60"], executable="/bin/sleep",
                               env={"CNNVIZ_RUNS_DIR": str(tmp_path)})
    # Popen returns once exec has begun; the kernel sets the new command line a moment later
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 5
    while not cmdline.read_bytes().startswith(b"ray::") and time.monotonic() < deadline:
        time.sleep(0.01)
    yield process.pid, str(tmp_path)
    process.kill()
    process.wait()


class Tab:
    """Records the CDP commands set_phase sends."""

    def __init__(self):
        self.sent = []

    def send(self, method, params):
        self.sent.append((method, params["state"]))


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]


def _wait_for_state(pid: int, states: str) -> str:
    deadline = time.monotonic() + 5
    while _state(pid) not in states and time.monotonic() < deadline:
        time.sleep(0.01)
    return _state(pid)


def test_training_workers_finds_the_worker_of_this_runs_folder_only(fake_worker, tmp_path):
    pid, runs = fake_worker
    assert browser_training.training_workers(runs) == [pid]
    assert browser_training.training_workers(str(tmp_path / "another")) == []


def test_set_phase_freezes_the_tab_and_stops_the_worker_then_undoes_it(fake_worker):
    pid, _ = fake_worker
    tab = Tab()
    browser_training.set_phase("frozen", tab, [pid])
    assert _wait_for_state(pid, "S") == "S"  # the run goes on
    browser_training.set_phase("stopped", tab, [pid])
    assert _wait_for_state(pid, "T") == "T"
    browser_training.set_phase("watching", tab, [pid])
    assert _wait_for_state(pid, "SR") in "SR"
    states = [state for _, state in tab.sent]
    assert states == ["frozen", "frozen", "active"]
    assert {method for method, _ in tab.sent} == {"Page.setWebLifecycleState"}


def test_slow_causes_are_the_medians_over_the_scrubs_slower_than_the_goal():
    def scrub(milliseconds, component, streamlit, rest):
        return milliseconds, {"component": component, "streamlit": streamlit, "rest": rest}

    scrubs = [scrub(10, 9, 0, 1), scrub(80, 70, 0, 10), scrub(120, 100, 10, 10),
              scrub(60, 30, 20, 4)]
    assert browser_training.slow_causes(scrubs) == (3, {"component": 70, "streamlit": 10,
                                                         "rest": 10})
    assert browser_training.slow_causes(scrubs[:1]) == (0, {"component": 0.0, "streamlit": 0.0,
                                                             "rest": 0.0})
