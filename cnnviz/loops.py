"""Loop-based references for cnnviz.ops: the benchmarks compare against them, the tests use them
as a second, independent implementation.

Each function below is the course's two-loop solution: one Python iteration per output position
(row, column), vectorized over the batch. `per_example` turns it into the fully straightforward
one, a Python iteration per output pixel of every example. Shapes and arguments as in cnnviz.ops,
with explicit pads ((top, bottom), (left, right)).
"""

import numpy as np


def _padded(A_prev, pads):
    return np.pad(A_prev, ((0, 0), pads[0], pads[1], (0, 0)))


def _out_hw(padded_hw, kernel_hw, stride):
    return tuple(1 + (n - k) // s for n, k, s in zip(padded_hw, kernel_hw, stride))


def conv_forward(A_prev, W, b, pads, stride):
    """Z (m, h_new, w_new, c_new) of A_prev (m, h, w, c_prev) with W (kh, kw, c_prev, c_new)."""
    A_padded, (kh, kw), (sh, sw) = _padded(A_prev, pads), W.shape[:2], stride
    h_new, w_new = _out_hw(A_padded.shape[1:3], (kh, kw), stride)
    Z = np.empty((A_prev.shape[0], h_new, w_new, W.shape[3]), dtype=A_prev.dtype)
    for y in range(h_new):
        for x in range(w_new):
            window = A_padded[:, y * sh : y * sh + kh, x * sw : x * sw + kw, :]
            Z[:, y, x, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2]))
    return Z + b


def conv_backward(dZ, A_prev, W, pads, stride):
    """(dA_prev, dW, db) of the convolution above, from dZ (m, h_new, w_new, c_new)."""
    A_padded, (kh, kw), (sh, sw) = _padded(A_prev, pads), W.shape[:2], stride
    dA_padded, dW = np.zeros_like(A_padded), np.zeros_like(W)
    for y in range(dZ.shape[1]):
        for x in range(dZ.shape[2]):
            rows, cols = slice(y * sh, y * sh + kh), slice(x * sw, x * sw + kw)
            dA_padded[:, rows, cols, :] += np.tensordot(dZ[:, y, x, :], W, axes=([1], [3]))
            dW += np.tensordot(A_padded[:, rows, cols, :], dZ[:, y, x, :], axes=([0], [0]))
    (top, bottom), (left, right) = pads
    h, w = A_padded.shape[1:3]
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
    return dA_padded[:, top : h - bottom, left : w - right, :], dW, db


def pool_forward(A_prev, kernel_hw, stride, mode):
    """Max or average of every valid window: (m, h_new, w_new, c)."""
    (kh, kw), (sh, sw) = kernel_hw, stride
    h_new, w_new = _out_hw(A_prev.shape[1:3], kernel_hw, stride)
    reduce = np.max if mode == "max" else np.mean
    A = np.empty((A_prev.shape[0], h_new, w_new, A_prev.shape[3]), dtype=A_prev.dtype)
    for y in range(h_new):
        for x in range(w_new):
            A[:, y, x, :] = reduce(A_prev[:, y * sh : y * sh + kh, x * sw : x * sw + kw, :], axis=(1, 2))
    return A


def pool_backward(dA, A_prev, kernel_hw, stride, mode):
    """dA_prev: max routes to every maximum of the window (the course's rule), avg spreads evenly."""
    (kh, kw), (sh, sw) = kernel_hw, stride
    dA_prev = np.zeros_like(A_prev)
    for y in range(dA.shape[1]):
        for x in range(dA.shape[2]):
            rows, cols = slice(y * sh, y * sh + kh), slice(x * sw, x * sw + kw)
            upstream = dA[:, y : y + 1, x : x + 1, :]
            if mode == "max":
                window = A_prev[:, rows, cols, :]
                dA_prev[:, rows, cols, :] += (window == window.max(axis=(1, 2), keepdims=True)) * upstream
            else:
                dA_prev[:, rows, cols, :] += upstream / (kh * kw)
    return dA_prev


def per_example(fn, *batch_arrays, rest=(), summed=()):
    """fn run on one example at a time (each of `batch_arrays` sliced to [i : i + 1]).

    `rest` are passed unchanged after the batch arrays; results are concatenated along the batch
    axis, except the result positions listed in `summed` (dW, db), which are added up.
    """
    results = [fn(*(a[i : i + 1] for a in batch_arrays), *rest) for i in range(len(batch_arrays[0]))]
    if not isinstance(results[0], tuple):
        return np.concatenate(results)
    return tuple(
        sum(r[k] for r in results) if k in summed else np.concatenate([r[k] for r in results])
        for k in range(len(results[0]))
    )
