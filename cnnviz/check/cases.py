"""The cases a course solution is graded on, each with the answer `cnnviz.ops` gives.

Course cases follow the course's main files (`0-main.py` ... `3-main.py`): MNIST digits as floats in
[0, 1] (cnnviz's own MNIST instead of the course's MNIST.npz; the first 10 training digits), a
second channel 1 - X for pooling, kernels and upstream gradients drawn by np.random.seed(0)'s
randn, ReLU; padding "valid", "same" (3x3 kernel, stride 1), (2, 4) and stride (2, 2) with "valid".
These are unambiguous: the course's "same" formula and TensorFlow's agree on them.

Random cases are seeded NumPy draws (float64): shapes, channels, kernels, strides, "valid", "same"
and explicit padding, max and avg; a few hand-picked geometries come first (an even kernel and a
stride > 1 with "same", strides differing by axis, overlapping pooling windows, tied maxima).

Arrays are NHWC with the course's names: A_prev (m, h_prev, w_prev, c_prev), W (kh, kw, c_prev,
c_new), b (1, 1, 1, c_new), dZ and dA (m, h_new, w_new, c).
"""

import functools
from dataclasses import dataclass, field

import numpy as np

from cnnviz.nn import ops

# task -> (argument names in the course's order, output names)
TASKS = {
    "conv_forward": (("A_prev", "W", "b", "activation", "padding", "stride"), ("A",)),
    "pool_forward": (("A_prev", "kernel_shape", "stride", "mode"), ("A",)),
    "conv_backward": (("dZ", "A_prev", "W", "b", "padding", "stride"), ("dA_prev", "dW", "db")),
    "pool_backward": (("dA", "A_prev", "kernel_shape", "stride", "mode"), ("dA_prev",)),
    # the homework's 2-3-1 network (cnnviz.dense): weights is a dict of arrays (b2 a float)
    "forward_propagation": (("X", "weights"), ("Y", "Z2", "H", "Z1")),
    "back_propagation": (("X", "Y_T", "weights"), ("dW1", "db1", "dW2", "db2", "L")),
}
HOMEWORK = ("forward_propagation", "back_propagation")  # `--task homework`: both
# task -> its outputs as returned, where one is a dict: (name, its keys, or None for an array)
RETURNS = {"back_propagation": (("gradients", ("W1", "b1", "W2", "b2")), ("L", None))}
COURSE_FILES = {  # the course's file name for each task
    "conv_forward": "0-conv_forward.py",
    "pool_forward": "1-pool_forward.py",
    "conv_backward": "2-conv_backward.py",
    "pool_backward": "3-pool_backward.py",
    "lenet5_tf1": "4-lenet5.py",  # TensorFlow 1: graded on its graph and training (tf1_task)
    "lenet5": "5-lenet5.py",  # Keras: graded on the model it builds (keras_task), not on cases
}
MODEL_TASKS = ("lenet5_tf1", "lenet5")
FUNCTIONS = {"lenet5_tf1": "lenet5"}  # the function a task's file defines, where not the task's
TASK_NUMBERS = {course.split("-")[0]: task for task, course in COURSE_FILES.items()}  # --task 5


def function_of(task: str) -> str:
    """The function the course's file for `task` defines: task 4's is lenet5, as task 5's."""
    return FUNCTIONS.get(task, task)


COURSE_DIGITS = 10  # the course's backward mains use X_train[:10]; so do all course cases here
RTOL, ATOL = 1e-5, 1e-8  # np.allclose's defaults, which the course's own comparisons use


@dataclass(frozen=True)
class Case:
    """One call of a course function: its arguments and the outputs cnnviz.ops gives.

    args: argument name -> ndarray, or a plain value (activation name, padding, stride, mode,
    kernel_shape as tuples or str). features: what the case exercises ("stride > 1", ...).
    """

    task: str
    name: str
    args: dict
    expected: tuple[np.ndarray, ...]
    features: frozenset[str] = field(default_factory=frozenset)
    tie_break: str = "all"

    @property
    def course(self) -> bool:
        return self.name.startswith("course")

    def describe(self) -> str:
        """The arguments in a line: shapes of arrays, values of the rest."""
        parts = []
        for name in TASKS[self.task][0]:
            value = self.args[name]
            if isinstance(value, dict):
                value = "{" + ", ".join(f"{key} {np.shape(item)}"
                                        for key, item in value.items()) + "}"
                parts.append(f"{name} {value}")
                continue
            parts.append(f"{name} {value.shape}" if isinstance(value, np.ndarray) else
                         f"{name} {value!r}")
        return ", ".join(parts)

    def arrays(self) -> list[np.ndarray]:
        """Every array of the case: its arguments' (a dict's values too) and the expected."""
        values = [*self.args.values(), *self.expected]
        values += [value for d in values if isinstance(d, dict) for value in d.values()]
        return [value for value in values if isinstance(value, np.ndarray)]

    def pads(self) -> ops.Pads:
        """((top, bottom), (left, right)) that cnnviz.ops adds (zeros for pooling)."""
        if "padding" not in self.args:
            return (0, 0), (0, 0)
        W = self.args["W"]
        return ops.resolve_padding(self.args["padding"], self.args["A_prev"].shape[1:3],
                                   W.shape[:2], self.args["stride"])


def expected_outputs(task: str, args: dict, tie_break: str = "all") -> tuple[np.ndarray, ...]:
    """What cnnviz.ops returns for the case (a tuple even for one output)."""
    call = [args[name] for name in TASKS[task][0]]
    if task == "pool_backward":
        return (ops.pool_backward(*call, tie_break=tie_break),)
    result = getattr(ops, task)(*call)
    return tuple(result) if isinstance(result, tuple) else (result,)


def features(task: str, args: dict) -> frozenset[str]:
    """What a case exercises, to tell the student which kind of case fails."""
    A_prev, stride = args["A_prev"], args["stride"]
    kernel = args["W"].shape[:2] if "W" in args else args["kernel_shape"]
    found = {"several examples" if A_prev.shape[0] > 1 else "one example"}
    if max(stride) > 1:
        found.add("stride > 1")
    if stride[0] != stride[1]:
        found.add("strides differ by axis")
    if kernel[0] != kernel[1]:
        found.add("non-square kernel")
    if A_prev.shape[3] > 1:
        found.add("several input channels")
    padding = args.get("padding")
    if padding is not None:
        found.add(f"padding {padding!r}" if isinstance(padding, str) else "explicit padding")
        if padding == "same" and (min(kernel) % 2 == 0 or max(stride) > 1):
            found.add("'same' with an even kernel or a stride > 1")
    if "mode" in args:
        found.add(f"mode {args['mode']!r}")
        if kernel[0] > stride[0] or kernel[1] > stride[1]:
            found.add("overlapping windows")
        if args["mode"] == "max" and _has_ties(A_prev, kernel, stride):
            found.add("tied maxima")
    return frozenset(found)


def _has_ties(A_prev, kernel, stride) -> bool:
    windows = ops.window_view(A_prev, kernel, stride)  # (m, h_new, w_new, kh, kw, c)
    return bool(((windows == windows.max(axis=(3, 4), keepdims=True)).sum(axis=(3, 4)) > 1).any())


def make_case(task: str, name: str, args: dict, tie_break: str = "all") -> Case:
    return Case(task, name, args, expected_outputs(task, args, tie_break), features(task, args),
                tie_break)


# --- the course's cases ------------------------------------------------------------------------


@functools.cache
def course_digits() -> np.ndarray:
    """The first COURSE_DIGITS MNIST training digits (m, 28, 28, 1), float64 in [0, 1],
    read-only."""
    from cnnviz.data.datasets import load_dataset

    digits = load_dataset("mnist").x_train[:COURSE_DIGITS].astype(np.float64)[..., None] / 255
    digits.flags.writeable = False
    return digits


def course_cases(task: str, tie_break: str = "all") -> list[Case]:
    """The course main file's call(s) for `task` on the first COURSE_DIGITS MNIST digits."""
    X = course_digits()
    rng = np.random.RandomState(0)  # the course's np.random.seed(0)
    if task in ("pool_forward", "pool_backward"):
        X = np.concatenate([X, 1 - X], axis=3)  # the course's X_train_a, X_train_b
        if task == "pool_forward":
            geometries = [((2, 2), (2, 2), mode) for mode in ("max", "avg")]
        else:
            geometries = [((3, 3), (3, 3), mode) for mode in ("max", "avg")]
        cases = []
        for kernel, stride, mode in geometries:
            args = {"A_prev": X, "kernel_shape": kernel, "stride": stride, "mode": mode}
            if task == "pool_backward":
                h_new, w_new = ops.conv_output_hw(X.shape[1:3], kernel, "valid", stride)
                args = {"dA": rng.randn(len(X), h_new, w_new, 2), **args}
            cases.append(make_case(task, f"course: {mode} {kernel} stride {stride}", args,
                                   tie_break))
        return cases
    W, b = rng.randn(3, 3, 1, 2), rng.randn(1, 1, 1, 2)
    cases = []
    for padding, stride in (("valid", (1, 1)), ("same", (1, 1)), ((2, 4), (1, 1)),
                            ("valid", (2, 2))):
        args = {"A_prev": X, "W": W, "b": b, "padding": padding, "stride": stride}
        if task == "conv_forward":
            args["activation"] = "relu"
        else:
            h_new, w_new = ops.conv_output_hw(X.shape[1:3], W.shape[:2], padding, stride)
            args["dZ"] = rng.randn(len(X), h_new, w_new, 2)
        cases.append(make_case(task, f"course: padding {padding!r} stride {stride}", args))
    return cases


# --- random cases ------------------------------------------------------------------------------

# (kernel, stride, padding) tried first, so that a few cases always show each rule
CONV_GEOMETRIES = [((3, 3), (1, 1), "valid"), ((2, 2), (1, 1), "same"), ((3, 3), (2, 2), "same"),
                   ((4, 3), (2, 1), "same"), ((3, 2), (1, 3), (1, 2)), ((2, 4), (3, 2), "valid")]
POOL_GEOMETRIES = [((2, 2), (2, 2), "max"), ((3, 3), (1, 1), "avg"), ((2, 3), (1, 2), "max"),
                   ((3, 2), (3, 1), "avg"), ((2, 2), (1, 1), "max")]


def random_cases(task: str, count: int, seed: int = 0, tie_break: str = "all") -> list[Case]:
    """`count` seeded float64 cases of a convolution or pooling task (0-3): the hand-picked
    geometries first, then random ones. ValueError for another task (the homework's cases are
    cnnviz.check.homework's)."""
    if not task.startswith(("conv", "pool")):
        raise ValueError(f"random cases are drawn for tasks 0-3, not {task!r}")
    rng = np.random.default_rng(seed)
    conv = task.startswith("conv")
    picked = CONV_GEOMETRIES if conv else POOL_GEOMETRIES
    cases = []
    while len(cases) < count:
        index = len(cases)
        geometry = picked[index] if index < len(picked) else _random_geometry(rng, conv)
        args = _random_args(task, rng, geometry, ties=not conv and index % 2 == 0)
        if args is not None:
            cases.append(make_case(task, f"random {index + 1}", args, tie_break))
    return cases


def _random_geometry(rng: np.random.Generator, conv: bool) -> tuple:
    kernel = tuple(int(k) for k in rng.integers(1, 5, size=2))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
    if not conv:
        return kernel, stride, str(rng.choice(["max", "avg"]))
    kind = rng.choice(["valid", "same", "explicit"])
    padding = tuple(int(p) for p in rng.integers(0, 3, size=2)) if kind == "explicit" else str(kind)
    return kernel, stride, padding


def _random_args(task: str, rng: np.random.Generator, geometry: tuple, ties: bool) -> dict | None:
    """Arguments for one case of this geometry, or None when the kernel does not fit."""
    kernel, stride, third = geometry
    m, c_prev = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = (int(v) for v in rng.integers(max(kernel) + 1, 12, size=2))
    if ties:  # small integers: windows with several equal maxima
        A_prev = rng.integers(0, 3, size=(m, h, w, c_prev)).astype(np.float64)
    else:
        A_prev = rng.standard_normal((m, h, w, c_prev))
    if task.startswith("pool"):
        args = {"A_prev": A_prev, "kernel_shape": kernel, "stride": stride, "mode": third}
        try:
            h_new, w_new = ops.conv_output_hw((h, w), kernel, "valid", stride)
        except ValueError:
            return None
        if task == "pool_backward":
            args["dA"] = rng.standard_normal((m, h_new, w_new, c_prev))
        return args
    c_new = int(rng.integers(1, 4))
    args = {"A_prev": A_prev, "W": rng.standard_normal((*kernel, c_prev, c_new)),
            "b": rng.standard_normal((1, 1, 1, c_new)), "padding": third, "stride": stride}
    try:
        h_new, w_new = ops.conv_output_hw((h, w), kernel, third, stride)
    except ValueError:
        return None
    if task == "conv_forward":
        args["activation"] = str(rng.choice(["none", "relu", "tanh"]))
    else:
        args["dZ"] = rng.standard_normal((m, h_new, w_new, c_new))
    return args
