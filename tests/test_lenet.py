"""Tests of the NumPy LeNet-5: shapes, the full gradient against finite differences, saving,
learning."""

import json

import numpy as np
import pytest

from cnnviz import data, paths
from cnnviz.nn import lenet
from cnnviz.nn.gradcheck import numerical_gradient


def _tiny_batch(m=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, 28, 28, 1)), rng.integers(0, 10, size=m)


def _float64(params):
    return {name: value.astype(np.float64) for name, value in params.items()}


def test_init_params_shapes_dtype_and_seed():
    params = lenet.init_params(0)
    assert {name: value.shape for name, value in params.items()} == lenet.PARAM_SHAPES
    assert all(value.dtype == np.float32 for value in params.values())
    assert sum(value.size for value in params.values()) == 61_706
    np.testing.assert_array_equal(params["conv2_W"], lenet.init_params(0)["conv2_W"])
    assert not np.array_equal(params["conv2_W"], lenet.init_params(1)["conv2_W"])
    fc1 = params["fc1_W"]  # he_normal: std sqrt(2 / fan_in), truncated at 2 sigma
    assert abs(fc1.std() - np.sqrt(2 / 400)) < 0.1 * np.sqrt(2 / 400)
    assert np.abs(fc1).max() <= 2 * np.sqrt(2 / 400) / 0.8796 + 1e-6


def test_param_shapes_follow_from_the_layer_spec():
    assert list(lenet.PARAM_SHAPES) == [f"{layer.name}_{part}" for layer in lenet.LENET5
                                        for part in ("W", "b")]
    assert lenet.PARAM_SHAPES["conv2_W"] == (5, 5, 6, 16)  # 6 channels in from conv1
    assert lenet.PARAM_SHAPES["fc1_W"] == (400, 120)  # 28 same -> 14 -> 10 valid -> 5: 5 * 5 * 16
    assert lenet.PARAM_SHAPES["out_b"] == (10,)


def test_forward_activations_have_the_contract_shapes():
    X, _ = _tiny_batch(2)
    probs, cache = lenet.forward(lenet.init_params(0), X.astype(np.float32))
    shapes = {name: cache[name].shape for name in
              ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "logits")}
    assert shapes == {"conv1": (2, 28, 28, 6), "pool1": (2, 14, 14, 6), "conv2": (2, 10, 10, 16),
                      "pool2": (2, 5, 5, 16), "fc1": (2, 120), "fc2": (2, 84), "logits": (2, 10)}
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_forward_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"\(m, 28, 28, 1\)"):
        lenet.forward(lenet.init_params(0), np.zeros((2, 28, 28)))


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(4, 10)), np.array([0, 3, 9, 3])
    loss, dlogits = lenet.softmax_cross_entropy(logits, labels)
    expected = -np.mean(np.log(lenet.softmax(logits)[np.arange(4), labels]))
    assert loss == pytest.approx(expected)
    numeric = numerical_gradient(
        lambda z: lenet.softmax_cross_entropy(z, labels)[0], logits.copy()
    )
    np.testing.assert_allclose(dlogits, numeric, atol=1e-8)


def test_backward_full_gradient_matches_finite_differences():
    """Every parameter array and X: sampled entries and a random direction over the whole array."""
    X, labels = _tiny_batch(3)
    params = _float64(lenet.init_params(3))
    for name in params:  # non-zero biases so their gradients are exercised through every layer
        if name.endswith("_b"):
            params[name] = np.random.default_rng(4).normal(0, 0.05, params[name].shape)

    def loss_at(name, value):
        """Loss with X or the parameter `name` set to `value`."""
        if name == "X":
            return lenet.softmax_cross_entropy(lenet.forward(params, value)[1]["logits"], labels)[0]
        shifted = {**params, name: value}
        return lenet.softmax_cross_entropy(lenet.forward(shifted, X)[1]["logits"], labels)[0]

    def shifted_loss(name, delta):
        """Loss with `delta` added to X or to the parameter `name`."""
        return loss_at(name, (X if name == "X" else params[name]) + delta)

    _, cache = lenet.forward(params, X)
    grads = lenet.backward(params, cache, lenet.softmax_cross_entropy(cache["logits"], labels)[1])
    assert set(grads) == set(params) | {"X"}
    rng, eps = np.random.default_rng(5), 1e-6
    for name in [*params, "X"]:
        value = X if name == "X" else params[name]
        assert grads[name].shape == value.shape
        direction = rng.normal(size=value.shape)
        numeric = ((shifted_loss(name, eps * direction) - shifted_loss(name, -eps * direction))
                   / (2 * eps))
        assert np.sum(grads[name] * direction) == pytest.approx(numeric, rel=1e-5, abs=1e-9), name
        flat = rng.choice(value.size, size=min(6, value.size), replace=False)
        indices = list(zip(*np.unravel_index(flat, value.shape)))
        numeric = numerical_gradient(
            lambda v, name=name: loss_at(name, v), np.array(value, np.float64), indices, eps
        )
        for index in indices:
            assert grads[name][index] == pytest.approx(numeric[index], rel=1e-4, abs=1e-9), name


@pytest.mark.parametrize("of", ["probability", "logit"])
def test_input_gradient_matches_finite_differences(of):
    X, _ = _tiny_batch(2, seed=6)
    params = _float64(lenet.init_params(7))
    saliency = lenet.input_gradient(params, X, 4, of=of)
    assert saliency.shape == (2, 28, 28, 1)

    def score(X_):
        probs, cache = lenet.forward(params, X_)
        return (probs if of == "probability" else cache["logits"])[:, 4].sum()

    direction = np.random.default_rng(8).normal(size=X.shape)
    numeric = (score(X + 1e-6 * direction) - score(X - 1e-6 * direction)) / 2e-6
    assert np.sum(saliency * direction) == pytest.approx(numeric, rel=1e-5)


def test_adam_matches_the_tf1_update_rule():
    params = {"w": np.array([1.0, -2.0])}
    adam = lenet.Adam(params, learning_rate=0.1)
    grads = [np.array([0.5, -1.0]), np.array([0.2, 0.3])]
    m, v, w = np.zeros(2), np.zeros(2), params["w"].copy()
    for t, g in enumerate(grads, start=1):
        adam.step(params, {"w": g})
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= 0.1 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(params["w"], w)


def test_train_step_lowers_the_loss_on_a_fixed_batch():
    rng = np.random.default_rng(9)
    X = rng.random((32, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    params = lenet.init_params(0)
    adam = lenet.Adam(params)
    losses = [lenet.train_step(params, adam, X, labels)[0] for _ in range(20)]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0]


def test_save_and_load_params_round_trip(tmp_path):
    params = lenet.init_params(2)
    path = tmp_path / "model.npz"
    lenet.save_params(path, params, {"backend": "numpy", "test_accuracy": 0.5})
    loaded, meta = lenet.load_params(path)
    assert meta["format"] == "cnnviz-lenet5" and meta["backend"] == "numpy"
    for name in params:
        np.testing.assert_array_equal(loaded[name], params[name])
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    with np.load(path) as archive:  # the documented format: plain arrays + JSON meta
        assert json.loads(str(archive["meta"]))["version"] == 1


def test_load_params_errors_are_model_file_errors(tmp_path):
    with pytest.raises(lenet.ModelFileError, match="does not exist"):
        lenet.load_params(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(lenet.ModelFileError, match="not a readable"):
        lenet.load_params(corrupt)
    wrong = tmp_path / "wrong.npz"
    params = lenet.init_params(0)
    params["fc1_W"] = np.zeros((10, 120), np.float32)
    np.savez(wrong, meta=np.array(json.dumps({"format": "cnnviz-lenet5"})), **params)
    with pytest.raises(lenet.ModelFileError, match="fc1_W has shape"):
        lenet.load_params(wrong)
    assert issubclass(lenet.ModelFileError, ValueError)


@pytest.mark.tf
def test_shipped_weights_predict_like_the_keras_model_they_were_exported_from():
    import keras

    params, meta = lenet.load_params(paths.PRETRAINED_MODEL)  # what the Draw page runs
    assert meta["source"] == paths.PRETRAINED_KERAS.name
    digits = data.load_dataset("mnist").x_test[:200, ..., None].astype(np.float32) / 255.0
    model = keras.saving.load_model(paths.PRETRAINED_KERAS, compile=False)
    expected = np.asarray(model.predict(digits, verbose=0))
    np.testing.assert_allclose(lenet.forward(params, digits)[0], expected, atol=1e-5)
