"""`python -m benchmarks ops`: cnnviz.ops against TensorFlow's CPU ops and the per-pixel loops.

Workloads (float32): the course's (50,000 x 28x28x1 with 3x3x1x2 valid; 2x2/2 pooling of
50,000 x 28x28x2) and a LeNet-5 layer (batch 128, 14x14x6 with 5x5x6x16 valid). Each op is timed
as the best of several runs, all three implementations in the same process, and printed as a
Markdown table with the ratios cnnviz / TensorFlow and loops / cnnviz. cnnviz.ops and its loop
reference cnnviz.loops share their signatures: each case is one call, run on either.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from benchmarks.common import argument_parser, machine, print_json_line
from cnnviz.nn import loops, ops
from cnnviz.nn.blas import limit_blas_threads

FAST, REFERENCE = ops, loops  # timed as "cnnviz" and as "two loops" (and per pixel, per example)


@dataclass
class Case:
    """One op on one workload: `op`(*batch, *rest) in either implementation, and TensorFlow's."""

    name: str
    op: str  # a function name in cnnviz.ops and cnnviz.loops
    batch: tuple[np.ndarray, ...]  # the arguments that carry the batch, sliced per example
    rest: tuple  # the other arguments
    tensorflow: Callable[[], object]
    summed: tuple[int, ...] = ()  # results added up over examples (dW, db), not concatenated

    @property
    def m(self) -> int:
        return len(self.batch[0])

    def run(self, implementation) -> object:
        """The op on the whole batch, in `implementation` (cnnviz.ops or cnnviz.loops)."""
        return getattr(implementation, self.op)(*self.batch, *self.rest)

    def per_pixel(self, n: int) -> object:
        """The loop reference run one example at a time on the first n examples."""
        return loops.per_example(getattr(REFERENCE, self.op), *(a[:n] for a in self.batch),
                                 rest=self.rest, summed=self.summed)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of `repeats` calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _conv_cases(label, m, input_hwc, kernel, rng, tf) -> list[Case]:
    A_prev = rng.random((m, *input_hwc), dtype=np.float32)
    W = rng.standard_normal(kernel).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, kernel[3])).astype(np.float32)
    dZ = rng.standard_normal(ops.conv_forward(A_prev[:1], W, b, None, "valid").shape[1:])
    dZ = np.broadcast_to(dZ, (m, *dZ.shape)).astype(np.float32)
    A_t, W_t, b_t, dZ_t = (tf.constant(a) for a in (A_prev, W, b, dZ))

    def tf_backward():
        dA = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=A_prev.shape, filter=W_t, out_backprop=dZ_t, strides=[1] * 4,
            padding="VALID",
        )
        dW = tf.raw_ops.Conv2DBackpropFilter(
            input=A_t, filter_sizes=W.shape, out_backprop=dZ_t, strides=[1] * 4, padding="VALID"
        )
        return dA.numpy(), dW.numpy(), tf.reduce_sum(dZ_t, axis=(0, 1, 2)).numpy()

    return [
        Case(f"conv_forward {label}", "conv_forward", (A_prev,), (W, b, None, "valid"),
             lambda: (tf.nn.conv2d(A_t, W_t, 1, "VALID") + b_t).numpy()),
        Case(f"conv_backward {label}", "conv_backward", (dZ, A_prev), (W, b, "valid"), tf_backward,
             summed=(1, 2)),
    ]


def _pool_cases(label, m, input_hwc, rng, tf) -> list[Case]:
    A_prev = rng.random((m, *input_hwc), dtype=np.float32)
    A_t = tf.constant(A_prev)
    cases = []
    for mode, tf_pool, tf_grad in (
        ("max", tf.nn.max_pool2d, tf.raw_ops.MaxPoolGrad),
        ("avg", tf.nn.avg_pool2d, None),
    ):
        A = ops.pool_forward(A_prev, (2, 2), (2, 2), mode)
        dA = rng.standard_normal(A.shape).astype(np.float32)
        A_out_t, dA_t = tf.constant(A), tf.constant(dA)
        if mode == "max":
            def tf_backward(A_out_t=A_out_t, dA_t=dA_t, tf_grad=tf_grad):
                return tf_grad(orig_input=A_t, orig_output=A_out_t, grad=dA_t, ksize=[1, 2, 2, 1],
                               strides=[1, 2, 2, 1], padding="VALID").numpy()
        else:
            def tf_backward(dA_t=dA_t):
                return tf.raw_ops.AvgPoolGrad(orig_input_shape=A_prev.shape, grad=dA_t,
                                              ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1],
                                              padding="VALID").numpy()
        window = ((2, 2), (2, 2), mode)  # kernel_shape, stride, mode
        cases += [
            Case(f"pool_forward {mode} {label}", "pool_forward", (A_prev,), window,
                 lambda tf_pool=tf_pool: tf_pool(A_t, 2, 2, "VALID").numpy()),
            Case(f"pool_backward {mode} {label}", "pool_backward", (dA, A_prev), window,
                 tf_backward),
        ]
    return cases


def cases(course_m: int, seed: int = 0) -> list[Case]:
    """Every benchmarked op: the course's workload with `course_m` images, and a LeNet-5 layer."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    course = f"course m={course_m}"
    return [
        *_conv_cases(f"{course} 28x28x1 * 3x3x1x2", course_m, (28, 28, 1), (3, 3, 1, 2), rng, tf),
        *_pool_cases(f"{course} 28x28x2 2x2/2", course_m, (28, 28, 2), rng, tf),
        *_conv_cases("LeNet m=128 14x14x6 * 5x5x6x16", 128, (14, 14, 6), (5, 5, 6, 16), rng, tf),
        *_pool_cases("LeNet m=128 28x28x6 2x2/2", 128, (28, 28, 6), rng, tf),
    ]


def main(argv: list[str]) -> int:
    parser = argument_parser("ops", __doc__)
    parser.add_argument("--m", type=int, default=50_000, help="images in the course workload")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per op (best is kept)")
    parser.add_argument("--pixel-sample", type=int, default=100,
                        help="examples the per-pixel loop runs on; its time is scaled to the batch")
    args = parser.parse_args(argv)
    # cnnviz.blas: cache-sized products; a second thread only spins against TF's
    limit_blas_threads(1)
    import tensorflow as tf

    machine_line = machine(TensorFlow=tf.__version__)
    print(f"Machine: {machine_line}; NumPy's OpenBLAS on 1 thread, "
          "TensorFlow on its default pool\n")
    print("| op | cnnviz (ms) | TensorFlow (ms) | cnnviz / TF | two loops (ms) "
          "| two loops / cnnviz | per-pixel loop (ms, scaled) | per-pixel / cnnviz |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    figures = []
    for case in cases(args.m):
        ours = best_time(partial(case.run, FAST), args.repeats)
        theirs = best_time(case.tensorflow, args.repeats)
        two_loops = best_time(partial(case.run, REFERENCE), 1)
        sample = min(args.pixel_sample, case.m)
        per_pixel = best_time(partial(case.per_pixel, sample), 1) * case.m / sample
        print(f"| {case.name} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | {ours / theirs:.2f} "
              f"| {two_loops * 1e3:.0f} | {two_loops / ours:.1f} "
              f"| {per_pixel * 1e3:.0f} | {per_pixel / ours:.0f} |", flush=True)
        figures.append({"op": case.name, "m": case.m, "cnnviz_s": ours, "tensorflow_s": theirs,
                        "loop_s": two_loops, "per_pixel_s": per_pixel, "per_pixel_sample": sample,
                        "cnnviz_over_tensorflow": ours / theirs,
                        "loop_over_cnnviz": two_loops / ours,
                        "per_pixel_over_cnnviz": per_pixel / ours})
    if args.json:
        print_json_line({"benchmark": "ops", "machine": machine_line, "repeats": args.repeats,
                         "cases": figures})
    return 0
