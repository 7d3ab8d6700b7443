"""Trained beside the reference: the images a student's LeNet-5 (task 4's graph, task 5's model)
and the course's are trained and tested on, the points that compare their accuracies, and the
sentence for an accuracy far from the reference's.

Both train on MNIST's first TRAIN_IMAGES training digits in order (no shuffling) and are tested
on its first TEST_IMAGES test digits; the student's accuracy must be within the task's tolerance
of the reference's, trained the same way in a child of the grader's (keras_task.in_child).
"""

import functools
import threading

import numpy as np

from cnnviz.check.keras_task import Point, in_child

TRAIN_IMAGES, TEST_IMAGES = 1000, 500  # MNIST's first training and test digits
EPOCH_TOLERANCE = 0.15  # task 5: one epoch of 32 steps leaves LeNet-5 at 0.67-0.75 by its seed
_LOCK = threading.Lock()


@functools.cache
def training_data() -> dict[str, np.ndarray]:
    """x_train (TRAIN_IMAGES, 28, 28, 1), y_train one-hot (TRAIN_IMAGES, 10), x_test, y_test
    (TEST_IMAGES): float32, images in [0, 1]."""
    from cnnviz.data.datasets import load_dataset

    mnist = load_dataset("mnist")

    def images(x):
        return (np.asarray(x, dtype=np.float32)[..., None] / 255).astype(np.float32)

    eye = np.eye(10, dtype=np.float32)
    return {"x_train": images(mnist.x_train[:TRAIN_IMAGES]),
            "y_train": eye[mnist.y_train[:TRAIN_IMAGES]],
            "x_test": images(mnist.x_test[:TEST_IMAGES]), "y_test": eye[mnist.y_test[:TEST_IMAGES]]}


def keras_reference() -> dict:
    """keras_child.train() of course_keras.lenet5 (HeNormal(seed=keras_child.SEED): no global
    seed is set) on training_data(), in a child process once per process (thread-safe)."""
    with _LOCK:
        return _keras_reference()


@functools.cache
def _keras_reference() -> dict:
    return in_child("cnnviz.check.beside", "keras_trained")


def keras_trained() -> dict:
    """keras_reference()'s training, in this process (the child's)."""
    import keras

    from cnnviz.check.keras_child import INPUT_SHAPE, SEED, train
    from cnnviz.networks import course_keras

    return train(course_keras.lenet5(keras.Input(INPUT_SHAPE), seed=SEED), training_data())


def _float(value) -> float:
    return float(value) if isinstance(value, (int, float)) else float("nan")


def training_points(expected: dict, got: dict | None, tolerance: float,
                    after: str) -> list[Point]:
    """The accuracy after training (`after`: "300 steps", "one epoch"), and the accuracy the
    student's own tensor or metric says, against the reference's `expected` (a training record:
    accuracy, accuracy_tensor)."""
    want = (f"accuracy within {tolerance:g} of the course's {expected['accuracy']:.3f} on "
            f"{TEST_IMAGES} test digits after {after}")
    if not isinstance(got, dict):
        return [Point("training", want, "not trained (see above)")]
    accuracy = got.get("accuracy")
    known = isinstance(accuracy, (int, float))
    close = known and abs(accuracy - expected["accuracy"]) <= tolerance
    said = want if close else (f"accuracy {accuracy:.3f} after {after}" if known
                               else "no accuracy: the prediction is not (m, 10)")
    points = [Point("training", want, said)]
    if "accuracy_tensor" in expected:
        tensor = got.get("accuracy_tensor")
        agrees = isinstance(tensor, (int, float)) and known and abs(tensor - accuracy) < 1e-6
        points.append(Point("accuracy value", "the share of right argmaxes",
                            "the share of right argmaxes" if agrees else
                            f"{_float(tensor):.3f}, while {_float(accuracy):.3f} of the "
                            f"argmaxes are right"))
    return points


def training_line(trained: dict | None, training: dict | None, after: str,
                  tolerance: float) -> list[str]:
    """The accuracy after training (`after`: "300 steps", "one epoch"), when it is further than
    `tolerance` from the reference's (tasks 4 and 5)."""
    accuracy = training.get("accuracy") if isinstance(training, dict) else None
    if not isinstance(trained, dict) or not isinstance(accuracy, (int, float)):
        return []
    if abs(accuracy - trained["accuracy"]) <= tolerance:
        return []
    return [f"After {after} on the same images your network reaches {accuracy:.3f} accuracy, "
            f"the course's {trained['accuracy']:.3f}: compare your loss and optimizer with the "
            f"course's."]
