"""Uploaded Keras models: good ones are read layer by layer like Keras reads them; bad ones are
refused with a message saying which problem it is, before Keras runs anything it should not."""

import gc
import json
import threading
import weakref

import numpy as np
import pytest

from cnnviz.readers import Reader, keras_model
from tests import keras_uploads

pytestmark = pytest.mark.tf


def digit() -> np.ndarray:
    """A '1': a vertical bar in [0, 1], (28, 28)."""
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = 1.0
    return image


@pytest.mark.parametrize("name", list(keras_uploads.GOOD))
def test_good_model_is_read_like_keras_reads_it(name):
    import keras

    data = keras_uploads.GOOD[name]()
    uploaded = keras_model.load(data)
    outputs, layers = uploaded.read(digit())
    x = keras_model.model_input(uploaded, digit())
    expected = np.asarray(uploaded.model(x, training=False))[0]
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in layers] == [name for name, _ in uploaded.layers]
    assert [layer.name for layer in layers] == [
        layer.name for layer in uploaded.model.layers
        if not isinstance(layer, keras.layers.InputLayer)]
    assert uploaded.softmax_10 == (name != "no softmax")
    assert isinstance(uploaded, Reader)
    assert (uploaded.class_names is None) == (name == "no softmax")
    assert ("not a softmax over 10 classes" in uploaded.output_note) == (name == "no softmax")


def test_convolutions_come_with_their_kernels():
    uploaded = keras_model.load(keras_uploads.trained_lenet())
    _, layers = uploaded.read(digit())
    by_name = {layer.name: layer for layer in layers}
    assert by_name["conv1"].values.shape == (28, 28, 6)
    np.testing.assert_array_equal(by_name["conv1"].kernels,
                                  np.asarray(uploaded.model.get_layer("conv1").kernel))
    assert by_name["pool1"].kernels is None and by_name["fc1"].values.shape == (120,)


def test_dropout_is_off_and_batch_norm_uses_its_averages_when_reading():
    uploaded = keras_model.load(keras_uploads.batchnorm_dropout())
    first, layers = uploaded.read(digit())
    again, _ = uploaded.read(digit())
    np.testing.assert_array_equal(first, again)  # no dropout noise
    by_name = {layer.name: layer for layer in layers}
    np.testing.assert_array_equal(by_name["dropout"].values, by_name["flat"].values)
    np.testing.assert_allclose(first.sum(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", ["trained LeNet-5", "batch norm and dropout", "no softmax"])
def test_saliency_is_the_gradient_of_the_score(name):
    uploaded = keras_model.load(keras_uploads.GOOD[name]())
    noisy = digit() + np.random.default_rng(0).uniform(0, 0.2, (28, 28)).astype(np.float32)
    outputs, _ = uploaded.read(noisy)  # no ties in max pooling: no kinks
    top = int(np.argmax(outputs))
    gradient, score = uploaded.saliency(noisy, top)
    assert gradient.shape == (28, 28) and np.abs(gradient).max() > 0
    pixel, epsilon = (10, 14), 1e-3  # a centred finite difference on one inked pixel

    last = uploaded.model.layers[-1]

    def value(image):
        *_, output, last_input = uploaded.probe(keras_model.model_input(uploaded, image))
        if "logit" not in score:
            return float(np.asarray(output)[0, top])
        if type(last).__name__ == "Softmax":
            return float(np.asarray(last_input)[0, top])
        return float((np.asarray(last_input) @ np.asarray(last.kernel))[0, top] + last.bias[top])

    plus, minus = noisy.copy(), noisy.copy()
    plus[pixel] += epsilon
    minus[pixel] -= epsilon
    numeric = (value(plus) - value(minus)) / (2 * epsilon)
    assert gradient[pixel] == pytest.approx(numeric, rel=0.05, abs=1e-3)


@pytest.mark.parametrize("name", list(keras_uploads.BAD))
def test_bad_file_is_refused_saying_which_problem(name):
    build, words = keras_uploads.BAD[name]
    pattern = words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    with pytest.raises(keras_model.KerasModelError, match=pattern):
        keras_model.load(build())


def test_custom_objects_refused_before_keras_reads_them():
    config = {"module": "keras.src.models.functional", "class_name": "Functional", "config": {
        "layers": [{"module": None, "class_name": "MyLayer", "registered_name": "mine>MyLayer",
                    "config": {"name": "mine"}}]}}
    with pytest.raises(keras_model.KerasModelError, match="custom objects: class 'MyLayer'"):
        keras_model._check_config(config)
    activation = {"module": "keras.layers", "class_name": "Dense", "config": {
        "name": "out", "activation": {"module": "builtins", "class_name": "function",
                                      "config": "my_relu", "registered_name": "function"}}}
    with pytest.raises(keras_model.KerasModelError, match="function 'my_relu'"):
        keras_model._check_config(activation)
    keras_model._check_config(json.loads(json.dumps({"class_name": "__keras_tensor__",
                                                     "module": None})))


@pytest.mark.parametrize("data, words", [(b"", "empty"), (b"<html>not a model</html>",
                                                          "not a .keras archive"),
                                         (b"\0" * (keras_model.MODEL_MAX_BYTES + 1),
                                          "limit is 20 MB")])
def test_not_a_model_refused(data, words):
    with pytest.raises(keras_model.KerasModelError, match=words):
        keras_model.check_archive(data)


def test_load_leaves_no_file_behind_and_the_model_can_be_freed(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    uploaded = keras_model.load(keras_uploads.functional())
    uploaded.read(digit())
    uploaded.saliency(digit(), 0)
    assert list(tmp_path.iterdir()) == []  # the upload was read from a folder now deleted
    model = weakref.ref(uploaded.model)
    del uploaded
    gc.collect()
    assert model() is None  # nothing but the session held it


def test_load_gives_up_after_its_time_limit(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(keras_model, "_load", lambda data: release.wait(10))
    try:
        with pytest.raises(keras_model.KerasModelError, match="longer than 0 s"):
            keras_model.load(keras_uploads.logits_only(), timeout=0.2)
    finally:
        release.set()


def test_load_refuses_when_too_many_loads_wait(monkeypatch):
    monkeypatch.setattr(keras_model, "_waiting", threading.BoundedSemaphore(1))
    keras_model._waiting.acquire()  # every slot taken
    with pytest.raises(keras_model.KerasModelError, match="try again in a minute"):
        keras_model.load(keras_uploads.logits_only())


def test_load_refuses_when_the_server_holds_too_many_models_and_frees_them_with_sessions(
        monkeypatch):
    monkeypatch.setattr(keras_model, "MAX_HELD", 1)
    monkeypatch.setattr(keras_model, "_held", weakref.WeakSet())
    session_model = keras_model.load(keras_uploads.logits_only())
    with pytest.raises(keras_model.KerasModelError, match="open in other sessions"):
        keras_model.load(keras_uploads.logits_only())
    del session_model  # its session ended
    assert keras_model.load(keras_uploads.logits_only()).parameters > 0


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (784,)])
def test_every_grayscale_input_layout_is_accepted(shape):
    import keras
    from keras import layers

    inputs = keras.Input(shape)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(inputs)))
    uploaded = keras_model.inspect(model)
    assert uploaded.input_shape == shape
    assert keras_model.model_input(uploaded, digit()).shape == (1, *shape)
