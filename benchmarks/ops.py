"""`python -m cnnviz bench ops`: cnnviz.ops against TensorFlow's CPU ops and the per-pixel loops.

Workloads (float32): the course's (50,000 x 28x28x1 with 3x3x1x2 valid; 2x2/2 pooling of
50,000 x 28x28x2) and a LeNet-5 layer (batch 128, 14x14x6 with 5x5x6x16 valid). Each op is timed
as the best of several runs, all three implementations in the same process, and printed as a
Markdown table with the ratios cnnviz / TensorFlow and loops / cnnviz.
"""

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from cnnviz import loops, ops
from cnnviz.blas import limit_blas_threads


@dataclass
class Case:
    """One op on one workload, as three callables that return NumPy arrays."""

    name: str
    m: int  # examples in the batch
    cnnviz: Callable[[], object]
    tensorflow: Callable[[], object]
    loop: Callable[[], object]  # the course's two loops, over output rows and columns
    per_pixel: Callable[[int], object]  # a loop over every output pixel of the first n examples


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
    no_pad = ((0, 0), (0, 0))

    def tf_backward():
        dA = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=A_prev.shape, filter=W_t, out_backprop=dZ_t, strides=[1] * 4, padding="VALID"
        )
        dW = tf.raw_ops.Conv2DBackpropFilter(
            input=A_t, filter_sizes=W.shape, out_backprop=dZ_t, strides=[1] * 4, padding="VALID"
        )
        return dA.numpy(), dW.numpy(), tf.reduce_sum(dZ_t, axis=(0, 1, 2)).numpy()

    return [
        Case(
            f"conv_forward {label}", m,
            lambda: ops.conv_forward(A_prev, W, b, None, "valid"),
            lambda: (tf.nn.conv2d(A_t, W_t, 1, "VALID") + b_t).numpy(),
            lambda: loops.conv_forward(A_prev, W, b, no_pad, (1, 1)),
            lambda n: loops.per_example(loops.conv_forward, A_prev[:n], rest=(W, b, no_pad, (1, 1))),
        ),
        Case(
            f"conv_backward {label}", m,
            lambda: ops.conv_backward(dZ, A_prev, W, b, "valid"),
            tf_backward,
            lambda: loops.conv_backward(dZ, A_prev, W, no_pad, (1, 1)),
            lambda n: loops.per_example(loops.conv_backward, dZ[:n], A_prev[:n],
                                        rest=(W, no_pad, (1, 1)), summed=(1, 2)),
        ),
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
        cases += [
            Case(
                f"pool_forward {mode} {label}", m,
                lambda mode=mode: ops.pool_forward(A_prev, (2, 2), (2, 2), mode),
                lambda tf_pool=tf_pool: tf_pool(A_t, 2, 2, "VALID").numpy(),
                lambda mode=mode: loops.pool_forward(A_prev, (2, 2), (2, 2), mode),
                lambda n, mode=mode: loops.per_example(loops.pool_forward, A_prev[:n],
                                                       rest=((2, 2), (2, 2), mode)),
            ),
            Case(
                f"pool_backward {mode} {label}", m,
                lambda mode=mode, dA=dA: ops.pool_backward(dA, A_prev, (2, 2), (2, 2), mode),
                tf_backward,
                lambda mode=mode, dA=dA: loops.pool_backward(dA, A_prev, (2, 2), (2, 2), mode),
                lambda n, mode=mode, dA=dA: loops.per_example(
                    loops.pool_backward, dA[:n], A_prev[:n], rest=((2, 2), (2, 2), mode)),
            ),
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


def cpu_description() -> str:
    """This machine's CPU model and core count, Python and NumPy versions, for benchmark tables."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__}"


def machine() -> str:
    """cpu_description() and the TensorFlow version."""
    import tensorflow as tf

    return f"{cpu_description()}, TensorFlow {tf.__version__}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz bench ops", description=__doc__)
    parser.add_argument("--m", type=int, default=50_000, help="images in the course workload")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per op (best is kept)")
    parser.add_argument("--pixel-sample", type=int, default=100,
                        help="examples the per-pixel loop runs on; its time is scaled to the batch")
    args = parser.parse_args(argv)
    limit_blas_threads(1)  # cnnviz.blas: cache-sized products; a second thread only spins against TF's
    print(f"Machine: {machine()}; NumPy's OpenBLAS on 1 thread, TensorFlow on its default pool\n")
    print("| op | cnnviz (ms) | TensorFlow (ms) | cnnviz / TF | two loops (ms) | two loops / cnnviz "
          "| per-pixel loop (ms, scaled) | per-pixel / cnnviz |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases(args.m):
        ours = best_time(case.cnnviz, args.repeats)
        theirs = best_time(case.tensorflow, args.repeats)
        two_loops = best_time(case.loop, 1)
        sample = min(args.pixel_sample, case.m)
        per_pixel = best_time(partial(case.per_pixel, sample), 1) * case.m / sample
        print(f"| {case.name} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | {ours / theirs:.2f} "
              f"| {two_loops * 1e3:.0f} | {two_loops / ours:.1f} "
              f"| {per_pixel * 1e3:.0f} | {per_pixel / ours:.0f} |", flush=True)
    return 0
