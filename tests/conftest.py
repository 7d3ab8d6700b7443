"""Fixtures shared by the training tests (tests/test_training_*.py)."""

import types

import numpy as np
import pytest

from cnnviz.data.datasets import EMBEDDED_MNIST
from cnnviz.training import TrainConfig


@pytest.fixture(scope="session")
def small_mnist():
    """600 training and 200 test digits of the embedded MNIST, seeded."""
    with np.load(EMBEDDED_MNIST) as archive:
        x, y = archive["x"], archive["y"]
    order = np.random.default_rng(0).permutation(len(x))
    return types.SimpleNamespace(x_train=x[order[:600]], y_train=y[order[:600]],
                                 x_test=x[order[600:800]], y_test=y[order[600:800]])


@pytest.fixture
def small_config():
    """small_config(backend, **overrides): a TrainConfig of 2 epochs on 400 images, seed 3."""

    def make(backend, **overrides):
        settings = {"epochs": 2, "batch_size": 32, "limit": 400, "seed": 3, **overrides}
        return TrainConfig(backend=backend, **settings)

    return make


@pytest.fixture(scope="session")
def ray_service():
    """The training service on an embedded Ray with one slot (runs queue behind each other),
    started once for the session and stopped at its end."""
    from cnnviz.training import service

    with pytest.MonkeyPatch.context() as env:
        env.setenv(service.MAX_RUNS_ENV, "1")
        env.delenv(service.ADDRESS_ENV, raising=False)
        service.SERVICE.submit(lambda: None).result()
        yield service.SERVICE
        service.SERVICE.shutdown()
