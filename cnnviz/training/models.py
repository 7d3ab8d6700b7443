"""The Keras models the Keras backend trains, by their model name (cnnviz.training.MODELS).

lenet5 is the course's own task 5 reference (cnnviz.networks.course_keras.lenet5); the others are
their networks built by cnnviz.networks.architectures.to_keras. Both give the same layers, names,
he_normal(seed=0) kernels and compile settings. The TF1 backend's LeNet-5 is the course's task 4
reference, cnnviz.networks.course_tf1.lenet5. Keras is imported inside the function, so importing
this module stays cheap.
"""

from cnnviz.networks import course_keras
from cnnviz.networks.architectures import to_keras
from cnnviz.networks.presets import TRAINING_MODELS


def keras_model(name: str, learning_rate: float = 0.001):
    """The compiled Keras model TRAINING_MODELS calls `name` (lenet5, lenet5-dropout, mlp, ...),
    with he_normal(seed=0) kernels and every layer named."""
    import keras

    network = TRAINING_MODELS[name].network
    if name == "lenet5":  # the course's task 5, as the checker grades it
        return course_keras.lenet5(keras.Input(network.input_shape), learning_rate)
    return to_keras(network, learning_rate, seed=0)
