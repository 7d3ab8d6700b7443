"""Task 4: the student's TensorFlow-1 `lenet5(x, y)` graded on the graph it builds and on how it
trains, point by point against the course's (cnnviz.networks.course_tf1).

The points: the four returned values and their kinds, each layer in order (keras_task's words:
class, arguments, activation, output shape), the parameter count, the kernels' initial spread
(He normal: a standard deviation of sqrt(2 / fan_in)), the optimizer, the loss, and the accuracy
reached after tf1_child.STEPS Adam steps on the same MNIST images (beside.training_data) and graph
seed as the reference, which must be within ACCURACY_TOLERANCE of the reference's. Descriptions are
tf1_child's plain JSON: the student's from its own process, the reference's computed here once
(TensorFlow is imported then, not before).
"""

import functools
import math
import threading

from cnnviz.check.beside import training_data, training_points
from cnnviz.check.keras_task import Point, PointResult, in_child, layer_text, layers

ACCURACY_TOLERANCE = 0.05  # student's accuracy after training against the reference's
HE_TOLERANCE = 0.15  # a kernel's initial std within 15% of sqrt(2 / fan_in) is He's
ADAM_KEYS = ("learning_rate", "beta1", "beta2", "epsilon")
RETURNED = ("y_pred", "train_op", "loss", "accuracy")
_LOCK = threading.Lock()


def reference() -> tuple[dict, dict]:
    """tf1_child.run() of course_tf1.lenet5 on training_data(): (description, training),
    computed in a child process once per process (thread-safe: the server's checks share it)."""
    with _LOCK:
        return _reference()


@functools.cache
def _reference() -> tuple[dict, dict]:
    description, training = in_child("cnnviz.check.tf1_task", "trained")
    return description, training


def trained() -> tuple[dict, dict]:
    """reference()'s build and training, in this process (the child's)."""
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


def points(expected: dict, got: dict, trained: dict | None,
           training: dict | None) -> list[PointResult]:
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
    if trained is not None:  # None: checked without training
        found += training_points(trained, training, ACCURACY_TOLERANCE,
                                 f"{trained['steps']} steps")
    return [PointResult(point) for point in found]
