"""Tests of what a worker's reports carry of a run's History: only what is new, adding up on the
server to the worker's History."""

import pickle
from dataclasses import asdict

from cnnviz import training
from cnnviz.training.reports import HistorySender, add_news


def grow(history: training.History, epoch: int, batches: int) -> None:
    """One epoch of `batches` rows and its epoch row, as the training loop adds them."""
    history.batches += [{"epoch": epoch, "batch": b, "loss": 1.0 / (b + 1), "accuracy": b / 100,
                         "size": 64} for b in range(batches)]
    history.epochs.append({"epoch": epoch, "loss": 0.5, "accuracy": 0.9, "val_loss": 0.6,
                           "val_accuracy": 0.8, "seconds": 2.0, "images_per_second": 3200.0})
    history.wall_time, history.images_per_second = 2.0 * (epoch + 1), 3200.0 + epoch


def test_each_report_carries_only_its_epoch_and_the_server_rebuilds_the_history():
    worker_side, server_side, sizes = training.History(), training.History(), []
    sender = HistorySender()
    for epoch in range(10):
        grow(worker_side, epoch, 100)
        news = sender.news(worker_side)
        assert len(news["batches"]) == 100 and news["epochs"] == [worker_side.epochs[-1]]
        assert "test_predictions" not in news or epoch == 0  # unchanged values are not resent
        sizes.append(len(pickle.dumps(news)))
        add_news(server_side, news)
        assert server_side == worker_side
    assert max(sizes) < 2 * min(sizes)  # the tenth report is no bigger than the first
    assert sizes[-1] * 5 < len(pickle.dumps(asdict(worker_side)))
    worker_side.test_loss, worker_side.test_accuracy, worker_side.stopped = 0.3, 0.91, True
    worker_side.test_predictions = [3, 1, 4]
    add_news(server_side, sender.news(worker_side))
    assert server_side == worker_side
    last = sender.news(worker_side)
    assert last["batches"] == last["epochs"] == [] and "test_predictions" not in last


def test_news_is_a_copy_the_trainer_cannot_change_afterwards():
    history, sender = training.History(), HistorySender()
    grow(history, 0, 2)
    news = sender.news(history)
    history.batches[0]["loss"] = -1.0
    assert news["batches"][0]["loss"] == 1.0
