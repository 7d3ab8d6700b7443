"""The student's Keras process: `python -I keras_child.py WORKDIR STUDENT.py MEMORY_BYTES CPU_SECS`.

Task 5's child (child.py stays NumPy-only): it limits itself as child.py does, imports Keras (the
grader's own step, "keras" in WORKDIR/progress), imports the student's file ("import"), calls
`lenet5(keras.Input((28, 28, 1)))` ("build") and writes `describe()` of the model it returns to
WORKDIR/model.json; each step's failure goes to WORKDIR/status-import.json or status-build.json
as child.py's do. Given WORKDIR/data.npz, it then trains the model one epoch ("train") and writes
the accuracy it reached to WORKDIR/train.json (a failure to status-train.json). Only plain JSON
leaves this process.

The grader imports this file too, for `describe()` and `train()`: the reference's description
and training come from the same code as the student's. Nothing at module level imports TensorFlow.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

INPUT_SHAPE = (28, 28, 1)  # the course's keras.Input for lenet5(X)
SEED, BATCH = 0, 32  # keras.utils.set_random_seed before lenet5(X); fit's batch size
FUNCTION = "lenet5"
PLAIN = (bool, int, float, str, type(None))
THREADS = {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",  # the sandbox's
           "TF_CPP_MIN_LOG_LEVEL": "2"}  # process limit counts threads; its notices are noise


def _name(value) -> str | None:
    """A Keras object's name as the course writes it: an activation's or a loss's function name,
    a string as is, else the object's class name."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "__name__", None) or type(value).__name__


def _pair(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def _shape(layer) -> list | None:
    try:
        return [None if n is None else int(n) for n in layer.output.shape]
    except (AttributeError, TypeError, ValueError):  # a layer not called on a symbolic input
        return None


def _initializer(layer) -> dict | None:
    """The kernel initializer's class and, for VarianceScaling (He, Glorot, LeCun), what makes it
    one: scale, mode and distribution (HeNormal's own config holds only its seed)."""
    init = getattr(layer, "kernel_initializer", None)
    if init is None:
        return None
    said = {"class": type(init).__name__}
    for key in ("scale", "mode", "distribution"):
        if isinstance(getattr(init, key, None), PLAIN):
            said[key] = getattr(init, key)
    return said


def describe_layer(layer) -> dict:
    """A layer as plain values: class, output shape and the arguments the course sets."""
    said = {"class": type(layer).__name__, "output_shape": _shape(layer)}
    for key in ("padding", "strides", "pool_size", "kernel_size", "filters", "units"):
        value = _pair(getattr(layer, key, None))
        if value is not None:
            said[key] = value
    if getattr(layer, "activation", None) is not None:
        said["activation"] = _name(layer.activation)
    if type(layer).__name__ == "ReLU":
        said["activation"] = "relu"
    if type(layer).__name__ == "Softmax":
        said["activation"] = "softmax"
    if _initializer(layer) is not None:
        said["kernel_initializer"] = _initializer(layer)
    return said


def _plain_config(config) -> dict:
    return {key: value for key, value in (config or {}).items() if isinstance(value, PLAIN)}


def describe(model) -> dict:
    """The model as plain JSON values: its layers in order (InputLayer aside), its parameter
    count, and how it is compiled (optimizer class and config, loss, metrics; None when not)."""
    said = {"class": type(model).__name__,
            "layers": [describe_layer(layer) for layer in model.layers
                       if type(layer).__name__ != "InputLayer"],
            "params": int(model.count_params()), "compiled": None}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return said
    loss = getattr(model, "loss", None)
    said["compiled"] = {
        "optimizer": {"class": type(optimizer).__name__,
                      "config": _plain_config(optimizer.get_config())},
        "loss": _name(loss),
        "from_logits": bool(getattr(loss, "from_logits", False)),
        "metrics": [_name(metric) for metric in _metrics(model)],
    }
    return said


def _metrics(model) -> list:
    """The metrics given to compile(), as given ("accuracy", or metric objects)."""
    config = model.get_compile_config() or {}
    metrics = config.get("metrics") or []
    metrics = list(metrics.values()) if isinstance(metrics, dict) else metrics
    flat = []
    for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        flat += metric if isinstance(metric, (list, tuple)) else [metric]
    return [m.get("class_name", m.get("config", {}).get("name")) if isinstance(m, dict) else m
            for m in flat]


def _sibling_child():
    """child.py, loaded by its path: its folder on sys.path would shadow the standard library
    (cnnviz/check/queue.py)."""
    spec = importlib.util.spec_from_file_location("child", Path(__file__).with_name("child.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


child = _sibling_child() if __name__ == "__main__" else None  # the same limits and failures


def build(student: Path, workdir: Path):
    """Import the student's file and call its lenet5; the model, or a failure written."""
    import keras  # noqa: F401 - the student's file imports it next: the cost is the grader's

    with open(workdir / "progress", "a") as progress:
        progress.write("import\n")
        progress.flush()
        function = child.load_function(student, FUNCTION)
        if isinstance(function, dict):
            child.write_json(workdir / "status-import.json", function)
            return None, None
        progress.write("build\n")
        progress.flush()
        keras.utils.set_random_seed(SEED)
        try:
            model = function(keras.Input(INPUT_SHAPE))
        except MemoryError as error:
            return child.failure("memory", "ran out of memory", error), None
        except BaseException as error:  # noqa: BLE001 - anything the student's function raises
            return child.failure("exception", f"raised {type(error).__name__}", error), None
    if not isinstance(model, keras.Model):
        return child.failure("return", f"returned {type(model).__name__}; expected the "
                                       f"keras.Model built on X"), None
    try:
        (workdir / "model.json").write_text(json.dumps(describe(model)))
    except (AttributeError, TypeError, ValueError) as error:
        return child.failure("return", "returned a model the grader cannot describe", error), None
    return {"kind": "ok"}, model


def train(model, data) -> dict:
    """One epoch of model.train_on_batch on the data's training images (batches of BATCH, in
    order), then the share of right argmaxes of the model's prediction on its test images (None
    when it is not (m, 10)). Not fit() nor predict(): their tf.data threads outgrow the
    sandbox's process limit."""
    images, labels = data["x_train"], data["y_train"]
    for start in range(0, len(images), BATCH):
        model.train_on_batch(images[start:start + BATCH], labels[start:start + BATCH])
    pred = np.asarray(model(data["x_test"], training=False))
    ok = pred.shape == data["y_test"].shape
    right = float(np.mean(pred.argmax(axis=1) == data["y_test"].argmax(axis=1))) if ok else None
    return {"epochs": 1, "batch": BATCH, "accuracy": right}


def train_beside(model, workdir: Path) -> None:
    """train() on WORKDIR/data.npz, written to train.json; a failure to status-train.json."""
    with open(workdir / "progress", "a") as progress:
        progress.write("train\n")
    child.train_beside(workdir, lambda data: train(model, data))


def main(workdir: str, student: str, memory_bytes: str, cpu_seconds: str) -> int:
    os.environ.update(THREADS)
    child.limit(int(memory_bytes), int(cpu_seconds))
    workdir = Path(workdir)
    with open(workdir / "progress", "a") as progress:
        progress.write("keras\n")
    status, model = build(Path(student), workdir)
    if status is not None:
        child.write_json(workdir / "status-build.json", status)
    if model is not None and (workdir / "data.npz").exists():
        train_beside(model, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
