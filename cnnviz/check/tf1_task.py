"""Task 4: the student's TensorFlow-1 `lenet5(x, y)` graded on the graph it builds and on how it
trains, point by point against the course's (cnnviz.networks.course_tf1).

The points: the four returned values and their kinds, each layer in order (keras_task's words:
class, arguments, activation, output shape), the parameter count, the kernels' initial spread
(He normal: a standard deviation of sqrt(2 / fan_in)), the optimizer, the loss, and the accuracy
reached after tf1_child.STEPS Adam steps on the same MNIST images and graph seed as the
reference, which must be within ACCURACY_TOLERANCE of the reference's. Descriptions are
tf1_child's plain JSON: the student's from its own process, the reference's computed here once
(TensorFlow is imported then, not before).
"""

import functools
import math
import threading

import numpy as np

from cnnviz.check.keras_task import Point, PointResult, layer_text, layers

TRAIN_IMAGES, TEST_IMAGES = 1000, 500  # MNIST's first training and test digits
ACCURACY_TOLERANCE = 0.05  # student's accuracy after training against the reference's
HE_TOLERANCE = 0.15  # a kernel's initial std within 15% of sqrt(2 / fan_in) is He's
ADAM_KEYS = ("learning_rate", "beta1", "beta2", "epsilon")
RETURNED = ("y_pred", "train_op", "loss", "accuracy")
_LOCK = threading.Lock()


@functools.cache
def training_data() -> dict[str, np.ndarray]:
    """The images both networks train on and are tested on: MNIST's first TRAIN_IMAGES
    training digits and TEST_IMAGES test digits, float32 in [0, 1], (m, 28, 28, 1), labels
    one-hot (m, 10)."""
    from cnnviz.data.datasets import load_dataset

    mnist = load_dataset("mnist")

    def images(x):
        return (np.asarray(x, dtype=np.float32)[..., None] / 255).astype(np.float32)

    eye = np.eye(10, dtype=np.float32)
    return {"x_train": images(mnist.x_train[:TRAIN_IMAGES]),
            "y_train": eye[mnist.y_train[:TRAIN_IMAGES]],
            "x_test": images(mnist.x_test[:TEST_IMAGES]), "y_test": eye[mnist.y_test[:TEST_IMAGES]]}


def reference() -> tuple[dict, dict]:
    """tf1_child.run() of course_tf1.lenet5 on training_data(): (description, training),
    computed once per process (thread-safe: the server's checks share it)."""
    with _LOCK:
        return _reference()


@functools.cache
def _reference() -> tuple[dict, dict]:
    from cnnviz.check import tf1_child
    from cnnviz.networks import course_tf1

    return tf1_child.run(course_tf1.lenet5, training_data())


def returned_text(value: dict) -> str:
    """A returned value in words: `tensor Softmax (None, 10)`, `operation`, or its type."""
    if value.get("kind") == "operation":
        return "operation"
    if value.get("kind") != "tensor":
        return f"a {value.get('kind')}, not a tensor"
    shape = value.get("shape")
    shape = "unknown shape" if not isinstance(shape, list) else str(tuple(shape))
    return f"tensor {value.get('op')} {shape}"


def _expected_return(name: str, value: dict) -> str:
    """What the course asks of each returned value, in returned_text's words where it can."""
    if name == "y_pred":
        return returned_text(value)  # the softmax (None, 10)
    if name == "train_op":
        return "operation"
    return "tensor, shape ()"


def _got_return(name: str, value: dict) -> str:
    if name in ("loss", "accuracy") and value.get("kind") == "tensor" and value.get("shape") == []:
        return "tensor, shape ()"
    return returned_text(value)


def kernel_text(kernels: list) -> str:
    """The kernels' initial spread: He's on all of them, or each one that is not."""
    kernels = [k for k in kernels if isinstance(k, dict)]
    wrong = [(k, kernel) for k, kernel in enumerate(kernels, 1) if not is_he(kernel)]
    if not wrong:
        return f"He normal (std sqrt(2 / fan_in)) on all {len(kernels)} kernels"
    return "; ".join(f"kernel {k} {tuple(kernel.get('shape') or ())}: std "
                     f"{_float(kernel.get('std')):.3g}, He's {he_std(kernel):.3g}"
                     for k, kernel in wrong)


def he_std(kernel: dict) -> float:
    """sqrt(2 / fan_in), fan_in the kernel's size over its last axis (nan when unknown)."""
    shape = kernel.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
        return math.nan
    return math.sqrt(2 / math.prod(shape[:-1]))


def is_he(kernel: dict) -> bool:
    return abs(_float(kernel.get("std")) / he_std(kernel) - 1) <= HE_TOLERANCE


def _float(value) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def optimizer_text(model: dict) -> str:
    optimizer = model.get("optimizer")
    if not isinstance(optimizer, dict):
        return "no optimizer"
    config = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
    said = ", ".join(f"{key}={_float(config[key]):.6g}" for key in ADAM_KEYS if key in config)
    return f"{optimizer.get('class')}({said})"


def loss_text(model: dict) -> str:
    loss = model.get("loss") if isinstance(model.get("loss"), dict) else {}
    if not loss.get("cross_entropy"):
        return "no softmax cross-entropy on logits"
    return "softmax cross-entropy on " + ("softmax outputs" if loss.get("softmax_on_logits")
                                         else "logits")


def training_points(expected: dict, got: dict | None) -> list[Point]:
    """The accuracy after training, and the returned accuracy tensor's value, against the
    reference's."""
    steps = expected["steps"]
    want = (f"accuracy within {ACCURACY_TOLERANCE:g} of the course's {expected['accuracy']:.3f} "
            f"on {TEST_IMAGES} test digits after {steps} steps")
    if not isinstance(got, dict):
        return [Point("training", want, "not trained (see above)")]
    accuracy = got.get("accuracy")
    close = isinstance(accuracy, (int, float)) and abs(
        accuracy - expected["accuracy"]) <= ACCURACY_TOLERANCE
    said = want if close else (f"accuracy {accuracy:.3f} after {steps} steps" if isinstance(
        accuracy, (int, float)) else "no accuracy: the prediction is not (m, 10)")
    tensor = got.get("accuracy_tensor")
    agrees = isinstance(tensor, (int, float)) and isinstance(accuracy, (int, float)) and abs(
        tensor - accuracy) < 1e-6
    return [Point("training", want, said),
            Point("accuracy value", "the share of right argmaxes",
                  "the share of right argmaxes" if agrees else f"{_float(tensor):.3f}, while "
                  f"{_float(accuracy):.3f} of the argmaxes are right")]


def points(expected: dict, got: dict, trained: dict, training: dict | None) -> list[PointResult]:
    """The student's graph `got` (and its `training`) against the reference's `expected` (and
    `trained`): the returned values, one point per layer in order, then the parameter count,
    kernels, optimizer, loss, training and accuracy value."""
    found = [Point(f"returns {name}", _expected_return(name, want), _got_return(name, have))
             for name, want, have in zip(RETURNED, expected["returned"], got.get("returned", []))]
    want, have = layers(expected), layers(got)
    for index in range(max(len(want), len(have))):
        found.append(Point(f"layer {index + 1}",
                           layer_text(want[index]) if index < len(want) else "no layer",
                           layer_text(have[index]) if index < len(have) else "no layer"))
    params = got.get("params")
    found.append(Point("parameters", f"{expected['params']:,}",
                       f"{params:,}" if isinstance(params, int) else "?"))
    found.append(Point("kernel initializers", kernel_text(expected["kernels"]),
                       kernel_text(got.get("kernels") or [])))
    found.append(Point("optimizer", optimizer_text(expected), optimizer_text(got)))
    found.append(Point("loss", loss_text(expected), loss_text(got)))
    found += training_points(trained, training)
    return [PointResult(point) for point in found]
