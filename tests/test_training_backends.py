"""Tests of the backend protocol: the three backends answer the same five calls the same way."""

import inspect

import numpy as np
import pytest

from cnnviz import training
from cnnviz.nn import lenet
from cnnviz.training import backends

BACKENDS = ["numpy", pytest.param("tf1", marks=pytest.mark.tf),
            pytest.param("keras", marks=pytest.mark.tf)]


def test_registries_name_the_same_backends():
    assert tuple(backends.BACKEND_CLASSES) == tuple(training.BACKENDS)


@pytest.mark.parametrize("name", list(backends.BACKEND_CLASSES))
def test_each_backend_class_has_the_protocol_and_no_other_backend_as_parent(name):
    backend_class = backends.BACKEND_CLASSES[name]
    for method in ("train_epoch", "predict", "first_layer", "save", "close"):
        expected = inspect.signature(getattr(backends.Backend, method)).parameters
        assert list(inspect.signature(getattr(backend_class, method)).parameters) == list(expected)
    others = set(backends.BACKEND_CLASSES.values()) - {backend_class}
    assert not any(issubclass(backend_class, other) for other in others)


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_trains_until_told_to_stop_predicts_and_saves_a_lenet(name, small_mnist, tmp_path):
    backend = backends.make_backend(training.TrainConfig(backend=name, seed=1))
    try:
        X, labels = training.as_inputs(small_mnist.x_train[:100]), small_mnist.y_train[:100]
        batches = []

        def on_batch(loss, accuracy, size):
            batches.append((loss, accuracy, size))
            return len(batches) == 2  # stop after the second batch

        backend.train_epoch(X, labels.astype(np.int64), 32, on_batch)
        assert [size for *_, size in batches] == [32, 32]
        assert all(np.isfinite(loss) and 0 <= accuracy <= 1 for loss, accuracy, _ in batches)
        probs = backend.predict(X[:5])
        assert probs.shape == (5, 10)
        np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
        first_layer = backend.first_layer()
        assert first_layer.shape == lenet.PARAM_SHAPES["conv1_W"]
        assert not np.array_equal(first_layer, lenet.init_params(1)["conv1_W"])  # it trained
        path = tmp_path / f"model{training.TrainConfig(backend=name).model_suffix}"
        backend.save(path, {"note": name})
        params, _ = lenet.load_params(path)
        np.testing.assert_allclose(lenet.predict(params, X[:5]), probs, atol=1e-5)
    finally:
        backend.close()
