"""Tests of the TF1 and Keras builders (the course's task 4 and 5 references, the Keras models by
name): structure, parameter counts, and the Keras file reader."""

import numpy as np
import pytest

from cnnviz.networks import course_keras, course_tf1
from cnnviz.nn import lenet
from cnnviz.training import models

pytestmark = pytest.mark.tf


def _keras_model(name):
    return models.keras_model(name)


def test_lenet5_keras_structure_and_parameter_count():
    model = _keras_model("lenet5")
    assert model.count_params() == 61_706
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                     "Dense", "Dense", "Dense"]
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers[1:]]
    assert shapes == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,),
                      (10,)]
    assert [layer.kernel_initializer.seed for layer in model.layers
            if hasattr(layer, "kernel")] == [0] * 5
    assert type(model.layers[1].kernel_initializer).__name__ == "HeNormal"
    assert model.loss == "categorical_crossentropy"
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)


@pytest.mark.parametrize("name, params, marker", [
    ("lenet5-dropout", 61_706, "Dropout"),
    ("lenet5-batchnorm", 61_706 + 4 * (6 + 16 + 120 + 84), "BatchNormalization"),
    ("mlp", 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10, "Dense"),
])
def test_keras_variants_structure_and_parameter_count(name, params, marker):
    model = _keras_model(name)
    assert model.count_params() == params
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count(marker) == {"Dropout": 2, "BatchNormalization": 4, "Dense": 3}[marker]
    if name == "lenet5-dropout":
        assert all(layer.rate == 0.5 for layer in model.layers
                   if kinds[model.layers.index(layer)] == "Dropout")
    assert model.output.shape[1:] == (10,)


def test_course_keras_lenet5_is_built_on_its_input_and_compiled_as_the_course_says():
    import keras

    X = keras.Input((28, 28, 1))
    model = course_keras.lenet5(X)
    assert model.inputs[0] is X and model.count_params() == 61_706
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "categorical_crossentropy"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)
    rng = np.random.default_rng(0)
    X_batch = rng.random((4, 28, 28, 1)).astype(np.float32)
    logs = model.evaluate(X_batch, np.eye(10)[[0, 1, 2, 3]], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    from cnnviz.networks.architectures import to_keras
    from cnnviz.networks.presets import LENET5

    same = to_keras(LENET5, seed=0)  # the networks' LeNet-5: same layers, names, seeded kernels
    assert [layer.name for layer in model.layers[1:]] == [layer.name for layer in same.layers[1:]]
    for mine, theirs in zip(model.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    with pytest.raises(ValueError, match=r"X must be a keras.Input of shape \(28, 28, 1\)"):
        course_keras.lenet5(keras.Input((32, 32, 3)))


def test_course_tf1_lenet5_structure_and_one_training_step():
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, 28, 28, 1))
        y = tf.compat.v1.placeholder(tf.float32, (None, 10))
        y_pred, train_op, loss, accuracy = course_tf1.lenet5(x, y)
        variables = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
        init = tf.compat.v1.global_variables_initializer()
    assert {name: tuple(v.shape) for name, v in variables.items()} == lenet.PARAM_SHAPES
    assert sum(int(np.prod(v.shape)) for v in variables.values()) == 61_706
    assert tf.executing_eagerly()  # built in its own graph: eager mode untouched
    rng = np.random.default_rng(0)
    X = rng.random((16, 28, 28, 1)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init)
        kernel = session.run(variables["fc1_W"])
        assert abs(kernel.std() - np.sqrt(2 / 400)) < 0.15 * np.sqrt(2 / 400)  # VarianceScaling(2)
        probs, first = session.run([y_pred, loss], {x: X, y: Y})
        for _ in range(10):
            session.run(train_op, {x: X, y: Y})
        last, acc = session.run([loss, accuracy], {x: X, y: Y})
    assert probs.shape == (16, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert np.isfinite(last) and last < first and 0 <= acc <= 1


def test_load_params_reads_a_keras_lenet5_and_rejects_other_models(tmp_path):
    model = _keras_model("lenet5")
    path = tmp_path / "lenet5.keras"
    model.save(path)
    params, meta = lenet.load_params(path)
    X = np.random.default_rng(1).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(lenet.forward(params, X)[0], model.predict(X, verbose=0), atol=1e-5)
    assert meta["format"] == "keras"
    mlp_path = tmp_path / "mlp.keras"
    _keras_model("mlp").save(mlp_path)
    with pytest.raises(lenet.ModelFileError, match="not a LeNet-5"):
        lenet.load_params(mlp_path)
    broken = tmp_path / "broken.keras"
    broken.write_bytes(path.read_bytes()[:500])
    with pytest.raises(lenet.ModelFileError, match="could not be loaded"):
        lenet.load_params(broken)
