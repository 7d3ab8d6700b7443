"""The student's TensorFlow-1 process: `python -I tf1_child.py WORKDIR STUDENT.py MEMORY_BYTES
CPU_SECS`.

Task 4's child (child.py stays NumPy-only, keras_child.py is task 5's): it limits itself as
child.py does, imports TensorFlow (the grader's own step, "tf" in WORKDIR/progress), imports the
student's file ("import"), calls `lenet5(x, y)` on tf.compat.v1 placeholders x (m, 28, 28, 1)
and y (m, 10) in a fresh graph seeded with SEED ("build"), writes `describe()` of that graph to
WORKDIR/model.json, then (given WORKDIR/data.npz) trains it STEPS steps on that data ("train")
and writes what it reached to WORKDIR/train.json. Each step's failure goes to
WORKDIR/status-STEP.json as child.py's do. Only plain JSON leaves this process.

The grader imports this file too (`run`): the reference's description and training come from the
same code as the student's. Nothing at module level imports TensorFlow.
"""

import importlib.util
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

INPUT_SHAPE = (28, 28, 1)  # the course's x placeholder, (m, 28, 28, 1); y is (m, CLASSES)
CLASSES = 10
FUNCTION = "lenet5"
SEED = 0  # tf.compat.v1.set_random_seed, the student's graph and the reference's alike
STEPS, BATCH = 300, 32  # Adam steps on the data's first images, in order
THREADS = {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",  # the sandbox's
           "TF_CPP_MIN_LOG_LEVEL": "2"}  # process limit counts threads; its notices are noise
ACTIVATIONS = {"Relu": "relu", "Softmax": "softmax", "Sigmoid": "sigmoid", "Tanh": "tanh",
               "Elu": "elu", "Selu": "selu", "LeakyRelu": "leaky_relu", "Relu6": "relu6"}
POOLS = {"MaxPool": "MaxPooling2D", "AvgPool": "AveragePooling2D"}
DENSE = ("MatMul", "BatchMatMulV2")
OPTIMIZERS = {"ApplyAdam": "Adam", "ApplyGradientDescent": "GradientDescent",
              "ApplyMomentum": "Momentum", "ApplyKerasMomentum": "Momentum",
              "ApplyRMSProp": "RMSProp", "ApplyAdagrad": "Adagrad", "ApplyAdagradV2": "Adagrad",
              "ApplyAdadelta": "Adadelta", "ApplyFtrl": "Ftrl", "ApplyFtrlV2": "Ftrl"}
ADAM_INPUTS = {"learning_rate": 5, "beta1": 6, "beta2": 7, "epsilon": 8}  # ResourceApplyAdam's


def _shape(tensor) -> list | None:
    try:
        return [None if n is None else int(n) for n in tensor.shape.as_list()]
    except (AttributeError, TypeError, ValueError):  # unknown rank
        return None


def _returned(value) -> dict:
    """One returned value as plain JSON: an operation, a graph tensor (its op, shape, dtype), or
    the name of what else it is."""
    import tensorflow as tf

    if isinstance(value, tf.Operation):
        return {"kind": "operation", "op": value.type}
    if isinstance(value, tf.Tensor) and hasattr(value, "op"):
        return {"kind": "tensor", "op": value.op.type, "shape": _shape(value),
                "dtype": value.dtype.name}
    return {"kind": type(value).__name__}


def _ancestors(tensors) -> set:
    """The operations the tensors are computed from (data inputs, not control ones)."""
    seen, stack = set(), [t.op for t in tensors]
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(t.op for t in op.inputs)
    return seen


def _descendants(op) -> set:
    seen, stack = set(), [op]
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(c for t in op.outputs for c in t.consumers())
    return seen


def _attr_pair(op, name: str) -> list | None:
    try:
        value = list(op.get_attr(name))
    except (ValueError, TypeError):
        return None
    return value[1:3] if len(value) == 4 else value


def _padding(op) -> str:
    try:
        return op.get_attr("padding").decode().lower()
    except (ValueError, TypeError, AttributeError):
        return "?"


def _layer(op, on_path: set) -> dict | None:
    """An operation of the prediction's path as a layer, in keras_child's words (keras_task's
    layer_text reads both): Conv2D, pooling, Flatten (a reshape to rows), Dense (a product with
    a weight) and activations; None for the rest (biases, casts, reads)."""
    said = {"output_shape": _shape(op.outputs[0])} if op.outputs else {}
    kind = op.type
    if kind == "Conv2D":
        return {**said, "class": "Conv2D", "filters": said["output_shape"][-1],
                "kernel_size": _shape(op.inputs[1])[:2], "strides": _attr_pair(op, "strides"),
                "padding": _padding(op), "activation": "linear"}
    if kind in POOLS:
        return {**said, "class": POOLS[kind], "pool_size": _attr_pair(op, "ksize"),
                "strides": _attr_pair(op, "strides"), "padding": _padding(op)}
    if kind == "Reshape":
        before, after = _shape(op.inputs[0]), said["output_shape"]
        flat = before is not None and after is not None and len(before) > 2 == len(after)
        return {**said, "class": "Flatten" if flat else "Reshape"}
    if kind in DENSE and sum(t.op in on_path for t in op.inputs) == 1:
        return {**said, "class": "Dense", "units": said["output_shape"][-1],
                "activation": "linear"}
    if kind in ACTIVATIONS:
        return {**said, "class": "Activation", "activation": ACTIVATIONS[kind]}
    return None


def _layers(graph, on_path: set) -> list[dict]:
    """The layers among the operations `on_path`, in the order the graph made them; a Dense on
    the last axis of maps (a reshape to rows, the product, a reshape back) is one Dense."""
    ordered = [op for op in graph.get_operations() if op in on_path]
    found = [layer for layer in (_layer(op, on_path) for op in ordered) if layer is not None]
    folded = []
    for layer in found:
        if (layer["class"] == "Reshape" and len(folded) >= 2 and folded[-1]["class"] == "Dense"
                and folded[-2]["class"] == "Flatten"):
            dense = folded.pop()
            folded[-1] = {**dense, "output_shape": layer["output_shape"]}
        else:
            folded.append(layer)
    return folded


def layers(graph, x, y_pred) -> list[dict]:
    """The layers from x to the prediction, in the order the graph made them."""
    return _layers(graph, _ancestors([y_pred]) & _descendants(x.op))


def partial_layers(graph) -> list[dict]:
    """The layers made from x before lenet5(x, y) failed, in order (every path from x)."""
    try:
        x = graph.get_tensor_by_name("x:0")
    except (KeyError, ValueError):
        return []
    return _layers(graph, _descendants(x.op))


def kernels(graph, session) -> list[dict]:
    """Every trainable kernel (rank 2 or 4, not a bias (1, 1, 1, n)), in the order made: its
    shape and initial standard deviation (He normal gives sqrt(2 / fan_in), fan_in its size
    over its last axis)."""
    import tensorflow as tf

    said = []
    for variable in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
        shape = _shape(variable)
        if shape is not None and len(shape) in (2, 4) and math.prod(shape[:-1]) > 1:
            said.append({"shape": shape, "std": float(np.std(session.run(variable)))})
    return said


def optimizer(graph, session) -> dict | None:
    """The optimizer minimize() added, from its update operations: class and, for Adam, the
    learning rate, betas and epsilon it runs with; None when there is no update."""
    update = next((op for op in graph.get_operations()
                   if op.type.removeprefix("Resource") in OPTIMIZERS), None)
    if update is None:
        return None
    name = OPTIMIZERS[update.type.removeprefix("Resource")]
    config = {}
    if name == "Adam":
        values = session.run([update.inputs[k] for k in ADAM_INPUTS.values()])
        config = {key: float(value) for key, value in zip(ADAM_INPUTS, values)}
    return {"class": name, "config": config}


def loss_facts(loss) -> dict:
    """Whether the loss is a softmax cross-entropy, and whether its logits already went through
    a softmax (the softmax applied twice)."""
    ops = _ancestors([loss]) if hasattr(loss, "op") else set()
    cross = next((op for op in ops if op.type in ("SoftmaxCrossEntropyWithLogits",
                                                   "SparseSoftmaxCrossEntropyWithLogits")), None)
    if cross is None:
        return {"cross_entropy": False, "softmax_on_logits": False}
    logits = _ancestors([cross.inputs[0]])
    return {"cross_entropy": True, "softmax_on_logits": any(op.type == "Softmax" for op in logits)}


def describe(graph, x, values, session) -> dict:
    """The graph lenet5(x, y) built, as plain JSON values: what it returned, its layers, its
    parameter count, its kernels' initial spread, its optimizer and its loss."""
    import tensorflow as tf

    variables = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
    y_pred = values[0]
    return {"returned": [_returned(value) for value in values],
            "layers": layers(graph, x, y_pred) if isinstance(y_pred, tf.Tensor) else [],
            "params": int(sum(np.prod(v.shape.as_list()) for v in variables)),
            "kernels": kernels(graph, session), "optimizer": optimizer(graph, session),
            "loss": loss_facts(values[2])}


def build(function, graph=None):
    """function(x, y) in `graph` (a fresh one by default) seeded with SEED: (graph, x, y, what
    it returned)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph() if graph is None else graph
    with graph.as_default():
        v1.set_random_seed(SEED)
        x = v1.placeholder(tf.float32, (None, *INPUT_SHAPE), name="x")
        y = v1.placeholder(tf.float32, (None, CLASSES), name="y")
        values = function(x, y)
    return graph, x, y, values


def not_four(values) -> str:
    """What is wrong with lenet5's return when it is not four values; "" when it is."""
    if isinstance(values, (tuple, list)) and len(values) == 4:
        return ""
    said = f"{len(values)} values" if isinstance(values, (tuple, list)) else type(values).__name__
    return f"returned {said}; expected the course's four: (y_pred, train_op, loss, accuracy)"


def session(graph):
    """A one-thread session on the graph, its variables initialised."""
    import tensorflow as tf

    v1 = tf.compat.v1
    config = v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    opened = v1.Session(graph=graph, config=config)
    with graph.as_default():
        opened.run(v1.global_variables_initializer())
    return opened


def _plain(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def train(opened, x, y, values, data, steps: int = STEPS, batch: int = BATCH) -> dict:
    """Run the train op `steps` times on the data's training images (batches in order), then
    the accuracy on its test images: the share of right argmaxes of the prediction (None when
    it is not (m, 10)), and the value of the returned accuracy tensor."""
    y_pred, train_op, loss, accuracy = values
    images, labels = data["x_train"], data["y_train"]
    first = opened.run(loss, {x: images[:batch], y: labels[:batch]})
    for step in range(steps):
        start = (step * batch) % len(images)
        opened.run(train_op, {x: images[start:start + batch], y: labels[start:start + batch]})
    feed = {x: data["x_test"], y: data["y_test"]}
    pred, said, last = opened.run([y_pred, accuracy, loss], feed)
    pred = np.asarray(pred)
    ok = pred.shape == data["y_test"].shape
    right = np.mean(pred.argmax(axis=1) == data["y_test"].argmax(axis=1)) if ok else None
    return {"steps": steps, "batch": batch, "accuracy": None if right is None else _plain(right),
            "accuracy_tensor": _plain(np.mean(said)), "loss_first": _plain(np.mean(first)),
            "loss_last": _plain(np.mean(last))}


def run(function, data) -> tuple[dict, dict]:
    """(describe(), train()) of function(x, y): the grader's run of the course's reference."""
    graph, x, y, values = build(function)
    with session(graph) as opened:
        return describe(graph, x, values, opened), train(opened, x, y, values, data)


def _sibling_child():
    """child.py, loaded by its path: its folder on sys.path would shadow the standard library
    (cnnviz/check/queue.py)."""
    spec = importlib.util.spec_from_file_location("child", Path(__file__).with_name("child.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


child = _sibling_child() if __name__ == "__main__" else None  # the same limits and failures


def _step(workdir: Path, name: str) -> None:
    with open(workdir / "progress", "a") as progress:
        progress.write(f"{name}\n")


def _built(function, workdir: Path):
    """(graph, x, y, values, session) of the student's lenet5, model.json written; None when
    it failed, status-build.json written."""
    import tensorflow as tf

    graph = tf.Graph()
    try:
        graph, x, y, values = build(function, graph)
        wrong = not_four(values)
        if wrong:
            child.write_json(workdir / "status-build.json", child.failure("return", wrong))
            return None
        opened = session(graph)
        (workdir / "model.json").write_text(json.dumps(describe(graph, x, values, opened)))
    except MemoryError as error:
        status = child.failure("memory", "ran out of memory", error)
    except BaseException as error:  # noqa: BLE001 - anything the student's function raises
        status = child.failure("exception", f"raised {type(error).__name__}", error)
    else:
        child.write_json(workdir / "status-build.json", {"kind": "ok"})
        return graph, x, y, values, opened
    try:  # what was built before the failure, for the diagnosis (a missing Flatten ...)
        said = {"partial": True, "layers": partial_layers(graph)}
        (workdir / "model.json").write_text(json.dumps(said))
    except Exception:  # noqa: BLE001 - a graph broken by the student's code: nothing to say
        pass
    child.write_json(workdir / "status-build.json", status)
    return None


def grade(student: Path, workdir: Path) -> None:
    """Import, build, describe and train the student's lenet5, each failure written."""
    _step(workdir, "import")
    function = child.load_function(student, FUNCTION)
    if isinstance(function, dict):
        child.write_json(workdir / "status-import.json", function)
        return
    _step(workdir, "build")
    built = _built(function, workdir)
    if built is None:
        return
    _graph, x, y, values, opened = built
    if not (workdir / "data.npz").exists():  # the check without training
        return
    _step(workdir, "train")
    child.train_beside(workdir, lambda data: train(opened, x, y, values, data))


def main(workdir: str, student: str, memory_bytes: str, cpu_seconds: str) -> int:
    os.environ.update(THREADS)
    child.limit(int(memory_bytes), int(cpu_seconds))
    workdir = Path(workdir)
    _step(workdir, "tf")
    import tensorflow  # noqa: F401 - the student's file imports it next: the cost is the grader's

    grade(Path(student), workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
