"""The course's task 5: `lenet5(X)`, LeNet-5 in Keras on the input X, compiled with Adam and an
accuracy metric (61,706 parameters): the Keras backend's lenet5, and the reference the checker
grades a student's task 5 against.

The layers are presets.LENET5, built by architectures.to_keras (he_normal kernels, zero biases,
every layer named), then applied to the course's own input X. A module of its own because task
4's TF1 reference has the same name (course_tf1.lenet5); Keras is imported inside the function.
"""

from cnnviz.networks.architectures import to_keras
from cnnviz.networks.presets import LENET5


def lenet5(X, learning_rate=0.001, seed=0):
    """LeNet-5 on X, a keras.Input of shape (28, 28, 1) (batches (m, 28, 28, 1)), as a compiled
    keras.Model: Adam(learning_rate) (the course's call leaves Adam's default, 0.001),
    categorical cross-entropy, accuracy; HeNormal(seed) kernels. ValueError when X is not a
    28x28x1 input."""
    import keras

    if tuple(X.shape[1:]) != LENET5.input_shape:
        raise ValueError(f"X must be a keras.Input of shape {LENET5.input_shape}, "
                         f"got shape {tuple(X.shape)}")
    built = to_keras(LENET5, learning_rate, seed=seed)  # layers, names, loss: one home
    outputs = X
    for layer in built.layers[1:]:  # its own InputLayer aside: the same layers, on X
        outputs = layer(outputs)
    model = keras.Model(X, outputs, name=built.name)
    model.compile(optimizer=built.optimizer, loss=built.loss, metrics=["accuracy"])
    return model
