"""Loop-based references for cnnviz.ops, with the same signatures (CS231n's naive/fast pairs):
the tests run both through the same checks, the benchmarks time both. `loops.conv_forward` can
stand in for `ops.conv_forward` in any call with valid arguments (slower).

Each function is the course's two-loop solution: one Python iteration per output position (row,
column), vectorized over the batch. `per_example` turns it into the fully straightforward one, a
Python iteration per output pixel of every example. The arithmetic is written independently of
cnnviz.ops; only the arguments' meaning is taken from there (ops.resolve_padding's "same" rule,
ops.ACTIVATIONS' names). Results are floating point, float32 at least, as in cnnviz.ops.
Arguments are not validated: pass stride, dilation and kernel_shape as pairs (see cnnviz.ops).
"""

import numpy as np

from cnnviz.nn import ops


def _out_hw(padded_hw, kernel_hw, stride, dilation=(1, 1)):
    """(h_new, w_new): how many windows of span (k - 1) * d + 1 fit, every s rows/columns."""
    return tuple(1 + (n - (k - 1) * d - 1) // s
                 for n, k, s, d in zip(padded_hw, kernel_hw, stride, dilation))


def _window(y, x, kernel_hw, stride, dilation=(1, 1)):
    """(rows, cols) slices of the input that output position (y, x) sees."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, stride, dilation
    return (slice(y * sh, y * sh + (kh - 1) * dh + 1, dh),
            slice(x * sw, x * sw + (kw - 1) * dw + 1, dw))


def _padded(A_prev, W, padding, stride, dilation):
    """(A_prev with its zeros added, pads ((top, bottom), (left, right)))."""
    pads = ops.resolve_padding(padding, A_prev.shape[1:3], W.shape[:2], stride, dilation)
    return np.pad(A_prev, ((0, 0), *pads, (0, 0))), pads


def conv_forward(A_prev, W, b, activation, padding="same", stride=(1, 1), *, dilation=(1, 1)):
    """activation(A_prev * W + b): A (m, h_new, w_new, c_new) from A_prev (m, h, w, c_prev),
    W (kh, kw, c_prev, c_new), b (1, 1, 1, c_new)."""
    A_padded, _ = _padded(A_prev, W, padding, stride, dilation)
    h_new, w_new = _out_hw(A_padded.shape[1:3], W.shape[:2], stride, dilation)
    Z = np.empty((A_prev.shape[0], h_new, w_new, W.shape[3]), np.result_type(A_prev, W, np.float32))
    for y in range(h_new):
        for x in range(w_new):
            rows, cols = _window(y, x, W.shape[:2], stride, dilation)
            Z[:, y, x, :] = np.tensordot(A_padded[:, rows, cols, :], W, axes=([1, 2, 3], [0, 1, 2]))
    Z = Z + b
    activation = ops.resolve_activation(activation)
    return Z if activation is None else activation(Z)


def conv_backward(dZ, A_prev, W, b, padding="same", stride=(1, 1), *, dilation=(1, 1)):
    """(dA_prev, dW, db) of the convolution above, from dZ (m, h_new, w_new, c_new)."""
    A_padded, ((top, bottom), (left, right)) = _padded(A_prev, W, padding, stride, dilation)
    dtype = np.result_type(dZ, A_prev, W, np.float32)
    dA_padded, dW = np.zeros(A_padded.shape, dtype), np.zeros(W.shape, dtype)
    for y in range(dZ.shape[1]):
        for x in range(dZ.shape[2]):
            rows, cols = _window(y, x, W.shape[:2], stride, dilation)
            dA_padded[:, rows, cols, :] += np.tensordot(dZ[:, y, x, :], W, axes=([1], [3]))
            dW += np.tensordot(A_padded[:, rows, cols, :], dZ[:, y, x, :], axes=([0], [0]))
    h, w = A_padded.shape[1:3]
    db = dZ.sum(axis=(0, 1, 2)).reshape(b.shape)
    return dA_padded[:, top : h - bottom, left : w - right, :], dW, db


def pool_forward(A_prev, kernel_shape, stride=(1, 1), mode="max"):
    """Max or average of every valid window: A (m, h_new, w_new, c) from A_prev (m, h, w, c)."""
    h_new, w_new = _out_hw(A_prev.shape[1:3], kernel_shape, stride)
    reduce = np.max if mode == "max" else np.mean
    A = np.empty((A_prev.shape[0], h_new, w_new, A_prev.shape[3]),
                 np.result_type(A_prev, np.float32))
    for y in range(h_new):
        for x in range(w_new):
            rows, cols = _window(y, x, kernel_shape, stride)
            A[:, y, x, :] = reduce(A_prev[:, rows, cols, :], axis=(1, 2))
    return A


def pool_backward(dA, A_prev, kernel_shape, stride=(1, 1), mode="max", *, tie_break="all"):
    """dA_prev: max routes each window's dA to every maximum (tie_break="all", the course's rule)
    or to the first in row-major order ("first", TensorFlow's); avg spreads it evenly."""
    dA_prev = np.zeros(A_prev.shape, np.result_type(dA, A_prev, np.float32))
    for y in range(dA.shape[1]):
        for x in range(dA.shape[2]):
            rows, cols = _window(y, x, kernel_shape, stride)
            upstream = dA[:, y : y + 1, x : x + 1, :]
            if mode == "max":
                window = A_prev[:, rows, cols, :]
                is_max = window == window.max(axis=(1, 2), keepdims=True)
                if tie_break == "first":  # the first True of each (example, channel) counts 1
                    flat = is_max.reshape(len(window), -1, window.shape[3])
                    is_max &= (flat.cumsum(axis=1) == 1).reshape(is_max.shape)
                dA_prev[:, rows, cols, :] += is_max * upstream
            else:
                dA_prev[:, rows, cols, :] += upstream / (kernel_shape[0] * kernel_shape[1])
    return dA_prev


def per_example(fn, *batch_arrays, rest=(), summed=()):
    """fn run on one example at a time (each of `batch_arrays` sliced to [i : i + 1]).

    `rest` are passed unchanged after the batch arrays; results are concatenated along the batch
    axis, except the result positions listed in `summed` (dW, db), which are added up.
    """
    m = len(batch_arrays[0])
    results = [fn(*(a[i : i + 1] for a in batch_arrays), *rest) for i in range(m)]
    if not isinstance(results[0], tuple):
        return np.concatenate(results)
    return tuple(
        sum(r[k] for r in results) if k in summed else np.concatenate([r[k] for r in results])
        for k in range(len(results[0]))
    )
