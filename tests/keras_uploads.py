"""Keras model files a user might upload on the Draw page, good and bad, built once per test run.

Each function returns the file's bytes. The models are tiny and trained at most one epoch, so the
tests can tell them apart and predictions can be compared with Keras' own.
"""

import functools
import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cnnviz.data.datasets import load_dataset
from cnnviz.training import models

TRAIN_SLICE = 512  # digits: one epoch takes a second or two


def _saved(model, name: str = "model.keras") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        model.save(path)
        return path.read_bytes()


@functools.cache
def trained_lenet() -> bytes:
    """What the Training page exports: cnnviz's Keras LeNet-5, one epoch on a slice of MNIST."""
    import keras

    dataset = load_dataset("mnist")
    x = dataset.x_train[:TRAIN_SLICE, :, :, None].astype(np.float32) / 255
    y = keras.utils.to_categorical(dataset.y_train[:TRAIN_SLICE], 10)
    model = models.keras_model("lenet5")
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    return _saved(model)


@functools.cache
def functional() -> bytes:
    """Functional API, input (28, 28): two convolution branches added, then a softmax."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28), name="digit")
    image = layers.Reshape((28, 28, 1), name="as_image")(inputs)
    left = layers.Conv2D(3, 3, padding="same", activation="relu", name="left")(image)
    right = layers.Conv2D(3, 5, padding="same", activation="relu", name="right")(image)
    merged = layers.Add(name="merged")([left, right])
    pooled = layers.MaxPooling2D(4, name="pool")(merged)
    outputs = layers.Dense(10, activation="softmax", name="out")(
        layers.Flatten(name="flat")(pooled))
    return _saved(keras.Model(inputs, outputs, name="two_branches"))


@functools.cache
def batchnorm_dropout() -> bytes:
    """Input (784,): conv, batch norm, ReLU, pooling, dropout, and a Softmax layer at the end."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((784,)),
        layers.Reshape((28, 28, 1), name="as_image"),
        # seeded: an unseeded draw can put a ReLU or max-pool kink within the test's finite
        # difference of the pixel it checks
        layers.Conv2D(4, 3, name="conv", kernel_initializer=keras.initializers.GlorotUniform(0)),
        layers.BatchNormalization(name="bn"),
        layers.ReLU(name="relu"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flat"),
        layers.Dropout(0.3, name="dropout"),
        layers.Dense(10, name="logits", kernel_initializer=keras.initializers.GlorotUniform(1)),
        layers.Softmax(name="softmax"),
    ])
    return _saved(model)


@functools.cache
def logits_only() -> bytes:
    """Input (28, 28, 1), last layer a plain Dense(10): no softmax."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(name="flat"),
                              layers.Dense(10, name="scores")])
    return _saved(model)


@functools.cache
def rgb_input() -> bytes:
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    return _saved(model)


@functools.cache
def with_lambda() -> bytes:
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1))
    doubled = layers.Lambda(lambda t: t * 2, name="double")(inputs)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(doubled))
    return _saved(keras.Model(inputs, outputs))


@functools.cache
def renamed_h5() -> bytes:
    """A legacy HDF5 model file, as if renamed from model.h5 to model.keras."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((784,)), layers.Dense(10, activation="softmax")])
    return _saved(model, "model.h5")


def truncated() -> bytes:
    data = logits_only()
    return data[: len(data) // 2]


@functools.cache
def zip_bomb() -> bytes:
    """A valid zip whose members would unpack to 80 MB (compressed to about 80 kB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * (80 * 2**20))
    return buffer.getvalue()


GOOD = {"trained LeNet-5": trained_lenet, "functional": functional,
        "batch norm and dropout": batchnorm_dropout, "no softmax": logits_only}
BAD = {  # name -> (bytes, words of the message that refuses it)
    "wrong input shape": (rgb_input, "(32, 32, 3)"),
    "Lambda layer": (with_lambda, "Lambda layer"),
    "zip bomb": (zip_bomb, "zip bomb"),
    "truncated": (truncated, "truncated"),
    "renamed .h5": (renamed_h5, "HDF5 (.h5) file renamed"),
}
