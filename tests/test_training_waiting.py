"""Tests of the training queue's estimates: places from Ray's live runs and their records, and
when a waiting run should start."""

import pytest

from cnnviz import training
from cnnviz.training import waiting
from cnnviz.training.runs import RunRecorder


@pytest.mark.parametrize(("running", "queued", "slots", "expected"), [
    ([], [], 2, 0.0),                    # a free slot: at once
    ([30.0], [], 1, 30.0),               # after the running run
    ([30.0], [60.0, 60.0], 1, 150.0),    # ... and the two queued ahead of it
    ([30.0, 10.0], [60.0], 2, 30.0),     # the first queued takes the slot free at 10 s
    ([30.0], [60.0, 5.0], 2, 35.0),      # free at 0: the 60 s run; at 30: the 5 s run, to 35
])
def test_starts_in_follows_the_slots_and_the_runs_ahead(running, queued, slots, expected):
    assert waiting.starts_in(running, queued, slots) == pytest.approx(expected)


def record(root, name, status, **facts):
    RunRecorder(root / name, training.TrainConfig(backend="numpy"), status, **facts)
    return waiting.actor_name(facts.get("submitted_ns", 0), name)


def test_queue_view_places_runs_in_submission_order(tmp_path):
    now = 1000.0
    running = record(tmp_path, "a", "running", submitted_ns=1, eta_at=now + 40)
    first = record(tmp_path, "b", "queued", submitted_ns=2, expected_seconds=20)
    second = record(tmp_path, "c", "queued", submitted_ns=3, expected_seconds=20)
    unknown = waiting.actor_name(4, "recorded-elsewhere")
    view = waiting.QueueView([second, unknown, running, first], tmp_path, slots=1, now=now)
    assert view.waiting() == 2  # a run whose record this server cannot read is left out
    assert view.where(first) == (1, pytest.approx(40.0))
    assert view.where(second) == (2, pytest.approx(60.0))
    assert waiting.QueueView([running, first], tmp_path, slots=2, now=now).where(first) == (1, 0.0)


def test_typical_durations_learn_from_finished_runs():
    typical = waiting.Typical()
    config = training.TrainConfig(backend="numpy", epochs=2)
    before = typical.seconds(config, 900)
    assert before == pytest.approx(waiting.STARTUP_SECONDS["numpy"]
                                   + 2 * 900 / waiting.IMAGES_PER_SECOND["numpy"])
    typical.observe("numpy", startup_seconds=0.0, images_per_second=1e9)
    assert typical.seconds(config, 900) < before
