"""The Draw page's readers: LeNet-5 on NumPy weights answers the Reader protocol with what
cnnviz.nn.lenet computes (the uploaded Keras model's reader: tests/test_keras_model.py)."""

import numpy as np
import pytest

from cnnviz.nn import lenet
from cnnviz.readers import DIGITS, Reader
from cnnviz.readers.lenet import LeNetReader


@pytest.fixture(scope="module")
def reader() -> LeNetReader:
    meta = {"backend": "numpy", "accuracy": 0.5, "epochs": 3}
    return LeNetReader(lenet.init_params(seed=3), meta)


def digit() -> np.ndarray:
    """A '1' with some noise (no ties in max pooling), (28, 28) in [0, 1]."""
    image = np.random.default_rng(0).uniform(0, 0.2, (28, 28))
    image[4:24, 12:16] = 1.0
    return image


def test_lenet_reader_answers_the_reader_protocol(reader):
    assert isinstance(reader, Reader)
    assert reader.class_names == DIGITS and reader.output_note == ""
    assert reader.description == "backend numpy, accuracy 0.5"  # the file's other meta left out


def test_lenet_reader_reads_what_lenet_computes(reader):
    probs, cache = lenet.forward(reader.params, digit()[None, :, :, None])
    outputs, layers = reader.read(digit())
    np.testing.assert_array_equal(outputs, probs[0])
    assert [layer.name for layer in layers] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2"]
    assert [layer.tab for layer in layers] == ["conv1", "pool1", "conv2", "pool2", "dense", "dense"]
    for layer in layers:
        np.testing.assert_array_equal(layer.values, cache[layer.name][0])
    by_name = {layer.name: layer for layer in layers}
    assert by_name["conv2"].kernels is reader.params["conv2_W"]
    assert by_name["pool1"].kernels is None and by_name["fc1"].kernels is None


def test_lenet_reader_saliency_is_the_gradient_of_the_logit(reader):
    image = digit()
    outputs, _ = reader.read(image)
    top = int(np.argmax(outputs))
    gradient, score = reader.saliency(image, top)
    assert gradient.shape == (28, 28) and "logit" in score

    def logit(x):
        return lenet.forward(reader.params, x[None, :, :, None])[1]["logits"][0, top]

    pixel, epsilon = (10, 14), 1e-5
    up, down = image.copy(), image.copy()
    up[pixel] += epsilon
    down[pixel] -= epsilon
    expected = (logit(up) - logit(down)) / (2 * epsilon)
    np.testing.assert_allclose(gradient[pixel], expected, rtol=1e-4, atol=1e-8)


def test_lenet_reader_load_says_what_is_wrong(tmp_path):
    with pytest.raises(lenet.ModelFileError, match="does not exist"):
        LeNetReader.load(tmp_path / "missing.npz")
    path = tmp_path / "lenet.npz"
    lenet.save_params(path, lenet.init_params(seed=1), {"backend": "tf1"})
    assert LeNetReader.load(path).description == "backend tf1"
