"""Task 5: the student's Keras `lenet5(X)` graded on the model it builds, point by point against
the course's (cnnviz.networks.course_keras), with the likely mistakes in words.

The points are the table's rows: each layer in order (class, arguments, activation, output
shape), the parameter count, the kernel initializers, the optimizer, the loss and the metrics
(then, from cnnviz.check.beside, the accuracy after one epoch beside the reference).
A Point stands where tasks 0-3 have a Case, and a PointResult where they have a CaseResult, so
the table, the page and the HTML report show both alike. Descriptions are keras_child's plain
JSON: the student's from its own process, the reference's once per process, in a child process
of its own (TensorFlow never enters the server's process: importing it there held the explorer's
pages for seconds and kept ~450 MiB, benchmarks check measured).
"""

import functools
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.check.runner import Outcome

HE = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}
INITIALIZERS = {  # (scale, mode, distribution) -> the Keras name, for the student's message
    (2.0, "fan_in", "truncated_normal"): "HeNormal", (2.0, "fan_in", "uniform"): "HeUniform",
    (1.0, "fan_avg", "uniform"): "GlorotUniform (Keras' default)",
    (1.0, "fan_avg", "truncated_normal"): "GlorotNormal",
    (1.0, "fan_in", "truncated_normal"): "LecunNormal", (1.0, "fan_in", "uniform"): "LecunUniform",
}
ADAM_KEYS = ("learning_rate", "beta_1", "beta_2", "epsilon")
ACCURACY = {name: "accuracy" for name in (  # the names of the course's metric, as compiled
    "acc", "categorical_accuracy", "CategoricalAccuracy")}  # (keras.metrics.Accuracy is not it)
FOLDED = ("Activation", "ReLU", "Softmax")  # a separate activation layer counts as its layer's
KERNEL_LAYERS = ("Conv2D", "Dense")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Point:
    """One graded point of the model: what the course's LeNet-5 has and what the student's has,
    as text (a Case's stand-in: name, describe(), course, features)."""

    name: str
    expected: str
    got: str
    features: frozenset = field(default_factory=frozenset)
    course = True

    def describe(self) -> str:
        return f"expected {self.expected}; yours: {self.got}"


@dataclass(frozen=True)
class PointResult:
    """A Point graded (a CaseResult's stand-in: no arrays, so nothing to draw)."""

    case: Point
    outcome: Outcome = Outcome("ok")
    outputs: tuple = ()
    failing: tuple = ()

    @property
    def status(self) -> str:
        return "pass" if self.case.expected == self.case.got else "fail"


def reference() -> dict:
    """built() in a child process, once per process (thread-safe: the server's checks share
    it); subprocess.CalledProcessError or TimeoutExpired when the child fails."""
    with _LOCK:
        return _reference()


REFERENCE_SECONDS = 300  # the child's TensorFlow import on a loaded machine, and the build


@functools.cache
def _reference() -> dict:
    return in_child("cnnviz.check.keras_task", "built")


def in_child(module: str, function: str) -> object:
    """module.function() run in a child process at a lower priority, its JSON return read back
    (tuples come back as lists, as a student's child writes them): the course's references are
    built and trained there, so the server never imports TensorFlow (~460 MiB) nor trains while
    its students explore. subprocess.CalledProcessError or TimeoutExpired when the child fails."""
    code = f"import json; from {module} import {function} as f; print(json.dumps(f()))"
    done = subprocess.run(
        ["nice", "-n", "10", sys.executable, "-c", code], capture_output=True, text=True,
        check=True, timeout=REFERENCE_SECONDS, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(done.stdout.splitlines()[-1])


def built() -> dict:
    """keras_child.describe() of course_keras.lenet5 on the course's input, in this process."""
    import keras

    from cnnviz.check.keras_child import INPUT_SHAPE, describe
    from cnnviz.networks import course_keras

    return describe(course_keras.lenet5(keras.Input(INPUT_SHAPE)))


def layers(model: dict) -> list[dict]:
    """The model's layers, a separate activation layer (Activation, ReLU, Softmax) folded into
    the layer before it when that one has none: `Dense(84)` then `Activation("relu")` is the
    course's `Dense(84, activation="relu")`."""
    folded = []
    for layer in model.get("layers", []):
        layer = layer if isinstance(layer, dict) else {}
        if layer.get("class") in FOLDED and folded and _activation(folded[-1]) == "linear":
            folded[-1] = {**folded[-1], "activation": layer.get("activation"),
                          "output_shape": layer.get("output_shape")}
        else:
            folded.append(layer)
    return folded


def _activation(layer: dict) -> str:
    return str(layer.get("activation") or "linear")


def _shape(layer: dict) -> str:
    shape = layer.get("output_shape")
    return str(tuple(shape[1:])) if isinstance(shape, list) else "?"


def _pair(value) -> str:
    return "x".join(str(v) for v in value) if isinstance(value, list) else str(value)


def layer_text(layer: dict) -> str:
    """A layer in the course's words: `Conv2D 6 5x5, padding same, stride 1x1, relu -> (28, 28,
    6)`."""
    kind = str(layer.get("class", "?"))
    if kind == "Conv2D":
        said = (f"Conv2D {layer.get('filters')} {_pair(layer.get('kernel_size'))}, padding "
                f"{layer.get('padding')}, stride {_pair(layer.get('strides'))}")
    elif kind == "MaxPooling2D" or kind == "AveragePooling2D":
        said = (f"{kind} {_pair(layer.get('pool_size'))}, stride {_pair(layer.get('strides'))}, "
                f"padding {layer.get('padding')}")
    elif kind == "Dense":
        said = f"Dense {layer.get('units')}"
    else:
        said = kind
    if kind in KERNEL_LAYERS or "activation" in layer:
        said += f", {_activation(layer)}"
    return f"{said} -> {_shape(layer)}"


def initializer_text(layer: dict) -> str:
    init = layer.get("kernel_initializer") or {}
    key = (init.get("scale"), init.get("mode"), init.get("distribution"))
    if None in key:
        return str(init.get("class", "none"))
    name = INITIALIZERS.get((float(key[0]), *key[1:]), init.get("class"))
    return (f"{name}: VarianceScaling(scale={float(key[0]):g}, mode={key[1]!r}, "
            f"distribution={key[2]!r})")


def optimizer_text(model: dict) -> str:
    compiled = model.get("compiled")
    if not isinstance(compiled, dict):
        return "not compiled"
    optimizer = compiled.get("optimizer") or {}
    config = optimizer.get("config") or {}
    said = ", ".join(f"{key}={_number(config[key])}" for key in ADAM_KEYS if key in config)
    return f"{optimizer.get('class')}({said})"


def _number(value) -> str:
    """float32's 0.0010000000474974513 as the 0.001 the student wrote."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def compiled_text(model: dict, key: str) -> str:
    compiled = model.get("compiled")
    if not isinstance(compiled, dict):
        return "not compiled"
    if key == "metrics":
        metrics = [ACCURACY.get(str(m), str(m)) for m in compiled.get("metrics") or []]
        return ", ".join(metrics) or "none"
    logits = ", from_logits=True" if compiled.get("from_logits") else ""
    return f"{compiled.get('loss')}{logits}"


def points(expected: dict, got: dict) -> list[PointResult]:
    """The student's model `got` against the reference `expected`, one PointResult per layer (in
    order), then the parameter count, initializers, optimizer, loss and metrics."""
    want, have = layers(expected), layers(got)
    found = []
    for index in range(max(len(want), len(have))):
        found.append(Point(f"layer {index + 1}",
                           layer_text(want[index]) if index < len(want) else "no layer",
                           layer_text(have[index]) if index < len(have) else "no layer"))
    found.append(Point("parameters", f"{expected.get('params'):,}", _count(got.get("params"))))
    found.append(Point("kernel initializers", _initializers(want), _initializers(have)))
    found.append(Point("optimizer", optimizer_text(expected), optimizer_text(got)))
    found.append(Point("loss", compiled_text(expected, "loss"), compiled_text(got, "loss")))
    found.append(Point("metrics", compiled_text(expected, "metrics"),
                       compiled_text(got, "metrics")))
    return [PointResult(point) for point in found]


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _initializers(model_layers: list[dict]) -> str:
    """The kernel layers' initializers: one when they all share it, else each layer's."""
    kernels = [layer for layer in model_layers if layer.get("class") in KERNEL_LAYERS]
    said = [initializer_text(layer) for layer in kernels]
    if len(set(said)) == 1:
        return f"{said[0]} on all {len(said)} kernel layers"
    return "; ".join(f"layer {k + 1}: {text}" for k, text in enumerate(said)) or "no kernels"
