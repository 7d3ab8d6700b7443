"""The three ways to train: Keras, TF1 and cnnviz's own NumPy ops, behind one small protocol.

Every backend answers the same five calls (Backend below), so the loop never asks which one it
has. NumPy and TF1 train batch by batch through train_in_batches; Keras runs model.fit once per
epoch and hands its per-batch values to the same on_batch. The NumPy and TF1 backends, and the
Keras models with LeNet's layout, start from the same weights (cnnviz.lenet.init_params(seed)).
TensorFlow is imported inside the TF1 and Keras backends only.
"""

import functools
from pathlib import Path
from typing import Protocol

import numpy as np

from cnnviz.nn import lenet
from cnnviz.nn.blas import limit_blas_threads
from cnnviz.training.config import MODELS, TrainConfig
from cnnviz.training.runs import replace_atomically


class Backend(Protocol):
    """What the training loop asks of a backend (X: (m, 28, 28, 1) float32, labels: (m,) int)."""

    def train_epoch(self, X, labels, batch_size: int, on_batch) -> None:
        """Train on X in its order, batch by batch; after each batch call
        on_batch(loss, accuracy, size) and stop when it returns True."""

    def predict(self, X) -> np.ndarray:
        """Class probabilities (m, 10)."""

    def first_layer(self) -> np.ndarray:
        """First layer's kernel, (kh, kw, c_prev, c_new), for the live filter view."""

    def save(self, path: Path, meta: dict) -> None:
        """Write the model to path (atomically); meta goes along where the format keeps it."""

    def close(self) -> None:
        """Release what the backend holds (session, BLAS threads)."""


def train_in_batches(train_batch, X, labels, batch_size: int, on_batch) -> None:
    """One pass over X in order: (loss, accuracy) = train_batch(X_batch, labels_batch) per batch,
    until on_batch(loss, accuracy, size) says stop."""
    for start in range(0, len(X), batch_size):
        batch = slice(start, start + batch_size)
        loss, accuracy = train_batch(X[batch], labels[batch])
        if on_batch(loss, accuracy, len(labels[batch])):
            return


def one_hot(labels: np.ndarray) -> np.ndarray:
    """Integer labels (m,) -> float32 one-hot rows (m, 10)."""
    return np.eye(10, dtype=np.float32)[labels]


class NumpyBackend:
    """LeNet-5 on cnnviz.ops, Adam in NumPy, OpenBLAS on one thread while it trains."""

    def __init__(self, config: TrainConfig):
        self.params = lenet.init_params(config.seed)
        self.optimizer = lenet.Adam(self.params, learning_rate=config.learning_rate)
        self._restore_blas_threads = limit_blas_threads(1)

    def train_epoch(self, X, labels, batch_size, on_batch) -> None:
        train_in_batches(self._train_batch, X, labels, batch_size, on_batch)

    def _train_batch(self, X, labels) -> tuple[float, float]:
        return lenet.train_step(self.params, self.optimizer, X, labels)

    def predict(self, X) -> np.ndarray:
        return lenet.predict(self.params, X)

    def first_layer(self) -> np.ndarray:
        return self.params["conv1_W"].copy()

    def save(self, path: Path, meta: dict) -> None:
        lenet.save_params(path, self.params, meta)

    def close(self) -> None:
        self._restore_blas_threads()


class TF1Backend:
    """The course's task 4 LeNet-5 (cnnviz.networks.course_tf1.lenet5) in its own graph and
    session, started from lenet.init_params(seed); saves cnnviz.lenet's .npz format, like the
    NumPy backend."""

    def __init__(self, config: TrainConfig):
        import tensorflow as tf

        from cnnviz.networks import course_tf1

        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.set_random_seed(config.seed)
            self.x = tf.compat.v1.placeholder(tf.float32, (None, *lenet.INPUT_SHAPE), name="x")
            self.y = tf.compat.v1.placeholder(tf.float32, (None, 10), name="y")
            self.y_pred, self.train_op, self.loss, self.accuracy = course_tf1.lenet5(
                self.x, self.y, config.learning_rate
            )
            self.variables = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
            start = lenet.init_params(config.seed)  # same weights as the NumPy backend
            start_feed = {v.initial_value: start[name] for name, v in self.variables.items()}
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=graph)
        self.session.run(init, start_feed)

    def train_epoch(self, X, labels, batch_size, on_batch) -> None:
        train_in_batches(self._train_batch, X, labels, batch_size, on_batch)

    def _train_batch(self, X, labels) -> tuple[float, float]:
        _, loss, accuracy = self.session.run(
            [self.train_op, self.loss, self.accuracy], {self.x: X, self.y: one_hot(labels)}
        )
        return float(loss), float(accuracy)

    def predict(self, X) -> np.ndarray:
        return np.concatenate([self.session.run(self.y_pred, {self.x: X[i : i + 1000]})
                               for i in range(0, len(X), 1000)])

    def first_layer(self) -> np.ndarray:
        return self.session.run(self.variables["conv1_W"])

    def save(self, path: Path, meta: dict) -> None:
        lenet.save_params(path, self.session.run(self.variables), meta)

    def close(self) -> None:
        self.session.close()


class KerasBackend:
    """A models.keras_model network (lenet5: the course's task 5) trained with model.fit, one fit
    call per epoch."""

    def __init__(self, config: TrainConfig):
        import keras

        from cnnviz.training.models import keras_model

        keras.utils.set_random_seed(config.seed)  # dropout masks
        self.model = keras_model(config.model, config.learning_rate)
        if MODELS[config.model].lenet_layout:  # same start as the NumPy and TF1 backends
            start = lenet.init_params(config.seed)
            weighted = [layer for layer in self.model.layers if layer.weights]
            for layer, spec in zip(weighted, lenet.LENET5):
                layer.set_weights([start[f"{spec.name}_W"], start[f"{spec.name}_b"].reshape(-1)])

    def train_epoch(self, X, labels, batch_size, on_batch) -> None:
        """model.fit over X (already in batch order), per-batch values passed to on_batch."""
        adapter = _keras_batch_adapter_class()(on_batch, batch_size, len(X))
        self.model.fit(X, one_hot(labels), batch_size=batch_size, epochs=1, shuffle=False,
                       verbose=0, callbacks=[adapter])

    def predict(self, X) -> np.ndarray:
        return self.model.predict(X, batch_size=1000, verbose=0)

    def first_layer(self) -> np.ndarray:
        """Kernel of the first layer: conv (5, 5, 1, 6), or a dense layer's first 16 units as
        28x28 images (28, 28, 1, 16)."""
        kernel = next(layer for layer in self.model.layers if layer.weights).get_weights()[0]
        return kernel if kernel.ndim == 4 else kernel[:, :16].reshape(28, 28, 1, -1)

    def save(self, path: Path, meta: dict) -> None:
        replace_atomically(path, self.model.save)

    def close(self) -> None: ...


@functools.cache
def _keras_batch_adapter_class():
    import keras

    class KerasBatchAdapter(keras.callbacks.Callback):
        """Turns Keras' running epoch means back into per-batch values and forwards them."""

        def __init__(self, on_batch, batch_size, n):
            super().__init__()
            self.on_batch, self.batch_size, self.n = on_batch, batch_size, n
            self.seen, self.loss_sum, self.correct = 0, 0.0, 0.0

        def on_train_batch_end(self, batch, logs=None):
            size = min(self.batch_size, self.n - self.seen)
            seen = self.seen + size
            loss_sum, correct = logs["loss"] * seen, logs["accuracy"] * seen
            loss, accuracy = (loss_sum - self.loss_sum) / size, (correct - self.correct) / size
            self.seen, self.loss_sum, self.correct = seen, loss_sum, correct
            if self.on_batch(loss, min(max(accuracy, 0.0), 1.0), size):
                self.model.stop_training = True

    return KerasBatchAdapter


BACKEND_CLASSES = {"keras": KerasBackend, "tf1": TF1Backend, "numpy": NumpyBackend}


def make_backend(config: TrainConfig) -> Backend:
    """The backend config.backend names, built for config (model, seed, learning rate)."""
    return BACKEND_CLASSES[config.backend](config)
