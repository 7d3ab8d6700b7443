"""Convolution and pooling layers, forward and backward, in NumPy (NHWC, the course's signatures).

Shapes: A_prev (m, h_prev, w_prev, c_prev), W (kh, kw, c_prev, c_new), b (1, 1, 1, c_new),
Z and A (m, h_new, w_new, c_new) with, per axis,

    h_new = 1 + (h_prev + pad_top + pad_bottom - ((kh - 1) * dh + 1)) // sh

No Python loop runs over examples or output pixels. The batch is cut into blocks of examples whose
temporaries fit a core's cache (about 1 MiB, so memory never grows with kh * kw * m), and within a
block the only loops run over the kh * kw kernel taps, each one strided slice of the whole block.
A convolution block becomes one matrix product of its windows (one row each) with W; how the
windows are copied depends on the shape (see `_windows`). A large batch is split into one run of
blocks per CPU core, each on its own thread (NumPy's loops and BLAS release the GIL); a small one
(a LeNet-5 batch, one explorer image) stays on one thread, and a server's many sessions use the
other core.
"""

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from cnnviz.nn.geometry import (
    Pads,
    check_4d,
    conv_output_hw,
    float_dtype,
    pad,
    pair,
    resolve_padding,
    taps,
    window_view,
)

__all__ = ["ACTIVATIONS", "Pads", "activation_grad", "conv_backward", "conv_forward",
           "conv_output_hw", "pad", "pool_backward", "pool_forward", "resolve_activation",
           "resolve_padding", "window_view"]


_BLOCK_BYTES = 1 << 20  # one block's temporaries: about the size of a core's L2 cache
_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_MIN_BLOCKS_PER_THREAD = 8  # below this, starting threads costs more than it saves

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray] | None] = {
    "none": None,
    "relu": lambda Z: np.maximum(Z, 0),
    "sigmoid": lambda Z: 1 / (1 + np.exp(-Z)),
    "tanh": np.tanh,
}


def resolve_activation(activation) -> Callable[[np.ndarray], np.ndarray] | None:
    """The function of `activation`: a name in ACTIVATIONS, a callable (kept) or None (identity)."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        return ACTIVATIONS[activation]
    if activation is not None and not callable(activation):
        raise ValueError(f"activation must be a function, None or a name, got {activation!r}")
    return activation


def activation_grad(name: str, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dA/dZ of activation `name`, element-wise, from the pre-activation Z and the output A."""
    derivatives = {
        "none": lambda: np.ones_like(Z),
        "relu": lambda: (Z > 0).astype(Z.dtype),
        "sigmoid": lambda: A * (1 - A),
        "tanh": lambda: 1 - A * A,
    }
    if name not in derivatives:
        raise ValueError(f"activation must be one of {sorted(derivatives)}, got {name!r}")
    return derivatives[name]()


def _conv_geometry(A_prev, W, padding, stride, dilation):
    """Validated (A_prev, W, pads, stride, dilation, (h_new, w_new)) of a convolution."""
    A_prev, W = check_4d(A_prev, "A_prev"), check_4d(W, "W")
    if W.shape[2] != A_prev.shape[3]:
        raise ValueError(
            f"W has {W.shape[2]} input channels but A_prev has {A_prev.shape[3]}; "
            f"W must be (kh, kw, {A_prev.shape[3]}, c_new)"
        )
    if min(W.shape) < 1:
        raise ValueError(f"W must have every dimension >= 1, got shape {W.shape}")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    kernel_hw, input_hw = W.shape[:2], A_prev.shape[1:3]
    out_hw = conv_output_hw(input_hw, kernel_hw, padding, stride, dilation)
    pads = resolve_padding(padding, input_hw, kernel_hw, stride, dilation)
    return A_prev, W, pads, stride, dilation, out_hw


def _check_bias(b, c_new: int) -> np.ndarray:
    b = np.asarray(b)
    if b.shape != (1, 1, 1, c_new):
        raise ValueError(
            f"b must have shape (1, 1, 1, {c_new}) (one bias per filter), got {b.shape}"
        )
    return b


def _blocks(m: int, bytes_per_example: int) -> tuple[int, list[slice]]:
    """Block size and slices of the batch axis such that one block's temporaries take about
    _BLOCK_BYTES and stay in the CPU cache; each block is processed by whole-array operations."""
    size = min(m, max(1, _BLOCK_BYTES // max(bytes_per_example, 1)))
    return size, [slice(start, min(start + size, m)) for start in range(0, m, size)]


def _in_parallel(blocks: list[slice], work: Callable[[list[slice]], object]) -> list:
    """work(run) for each of up to _THREADS contiguous runs of blocks, each on its own thread when
    there are at least _MIN_BLOCKS_PER_THREAD blocks per thread; the runs' results, in order."""
    threads = min(_THREADS, len(blocks) // _MIN_BLOCKS_PER_THREAD)
    if threads <= 1:
        return [work(blocks)]
    bounds = np.linspace(0, len(blocks), threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, [blocks[lo:hi] for lo, hi in itertools.pairwise(bounds)]))


_MIN_RUN = 8  # values a window row must hold in a row for one copy of the window view to pay


def _windows(A_padded, kernel_hw, out_hw, stride, dilation, workspace) -> np.ndarray:
    """Every window as a row: (n * h_new * w_new, kh * kw * c_prev), columns ordered like W.

    Written into the front of the flat `workspace`, reused from block to block. When each kernel
    row meets a contiguous run of at least _MIN_RUN input values (kw * c_prev, e.g. 30 in LeNet-5's
    second layer), the windows are one strided copy of window_view, row-major. With fewer (the
    course's 1-channel 3x3: runs of 3 values), copying item by item is slow, so the matrix is
    built column-major, one strided copy of the whole block per kernel tap; BLAS reads either.
    """
    n, c = A_padded.shape[0], A_padded.shape[3]
    count, size = n * out_hw[0] * out_hw[1], kernel_hw[0] * kernel_hw[1] * c
    run = c * (kernel_hw[1] if dilation[1] == 1 else 1)
    if run >= _MIN_RUN:
        by_row = workspace[: count * size].reshape(n, *out_hw, *kernel_hw, c)
        np.copyto(by_row, window_view(A_padded, kernel_hw, stride, dilation))
        return by_row.reshape(count, size)
    columns = workspace[: count * size].reshape(*kernel_hw, c, n, *out_hw)
    for i, j, (rows, cols) in taps(out_hw, kernel_hw, stride, dilation):
        columns[i, j] = A_padded[:, rows, cols, :].transpose(3, 0, 1, 2)  # (c, n, h_new, w_new)
    return columns.reshape(size, count).T


def conv_forward(A_prev, W, b, activation, padding="same", stride=(1, 1), *, dilation=(1, 1)):
    """Forward pass of a convolutional layer: activation(A_prev * W + b).

    A_prev (m, h_prev, w_prev, c_prev), W (kh, kw, c_prev, c_new), b (1, 1, 1, c_new);
    activation: an element-wise callable, None, or a name in ACTIVATIONS; padding "same", "valid"
    or (ph, pw); stride and dilation (sh, sw), (dh, dw). Returns A (m, h_new, w_new, c_new).
    """
    A_prev, W, pads, stride, dilation, out_hw = _conv_geometry(A_prev, W, padding, stride, dilation)
    b = _check_bias(b, W.shape[3])
    activation = resolve_activation(activation)
    dtype = float_dtype(A_prev, W, b)
    A_padded = pad(A_prev.astype(dtype, copy=False), pads)
    c_new = W.shape[3]
    W_columns = W.astype(dtype, copy=False).reshape(-1, c_new)  # (kh * kw * c_prev, c_new)
    Z = np.empty((A_prev.shape[0], *out_hw, c_new), dtype=dtype)
    window_size = out_hw[0] * out_hw[1]
    bias_row = np.tile(b.astype(dtype, copy=False).reshape(-1), window_size)  # one example's b
    size, blocks = _blocks(len(Z), W_columns.shape[0] * window_size * dtype.itemsize)

    def forward(run: list[slice]) -> None:
        """Z of the run's blocks, each finished (bias, activation) while it is in the cache."""
        workspace = np.empty(W_columns.shape[0] * size * window_size, dtype=dtype)
        for block in run:
            windows = _windows(A_padded[block], W.shape[:2], out_hw, stride, dilation, workspace)
            Z_block = Z[block]  # a view (n, h_new, w_new, c_new)
            np.matmul(windows, W_columns, out=Z_block.reshape(-1, c_new))
            per_example = Z_block.reshape(len(Z_block), -1)  # (n, h_new * w_new * c_new)
            per_example += bias_row
            if activation is not None:
                Z[block] = activation(Z[block])

    _in_parallel(blocks, forward)
    return Z


def _check_upstream(grad, name: str, expected: tuple) -> np.ndarray:
    grad = check_4d(grad, name)
    if grad.shape != expected:
        raise ValueError(
            f"{name} has shape {grad.shape} but the forward output of this layer is {expected}; "
            f"pass the gradient of the layer's output"
        )
    return grad


def conv_backward(dZ, A_prev, W, b, padding="same", stride=(1, 1), *, dilation=(1, 1)):
    """Backward pass of a convolutional layer, from dZ (the gradient before the activation).

    dZ (m, h_new, w_new, c_new), A_prev (m, h_prev, w_prev, c_prev), W (kh, kw, c_prev, c_new),
    b (1, 1, 1, c_new). Returns dA_prev (shape of A_prev), dW (shape of W), db (1, 1, 1, c_new).
    """
    A_prev, W, pads, stride, dilation, out_hw = _conv_geometry(A_prev, W, padding, stride, dilation)
    b = _check_bias(b, W.shape[3])
    dZ = _check_upstream(dZ, "dZ", (A_prev.shape[0], *out_hw, W.shape[3]))
    dtype = float_dtype(dZ, A_prev, W, b)
    dZ, A_padded = dZ.astype(dtype, copy=False), pad(A_prev.astype(dtype, copy=False), pads)
    kernel_hw, c_new = W.shape[:2], W.shape[3]
    W = W.astype(dtype, copy=False)
    W_columns = W.reshape(-1, c_new)  # (kh * kw * c_prev, c_new)
    dA_padded = np.zeros(A_padded.shape, dtype=dtype)
    size, blocks = _blocks(len(dZ), W_columns.shape[0] * out_hw[0] * out_hw[1] * dtype.itemsize)

    def backward(run: list[slice]) -> np.ndarray:
        """Adds the run's share of dA_padded in place; returns its share of dW
        (kh * kw * c_prev, c_new)."""
        workspace = np.empty(W_columns.shape[0] * size * out_hw[0] * out_hw[1], dtype=dtype)
        dW_columns = np.zeros(W_columns.shape, dtype=dtype)
        for block in run:
            windows = _windows(A_padded[block], kernel_hw, out_hw, stride, dilation, workspace)
            dZ_block = dZ[block].reshape(-1, c_new)  # (n * h_new * w_new, c_new)
            dW_columns += windows.T @ dZ_block
            dA_block = dA_padded[block]
            for i, j, (rows, cols) in taps(out_hw, kernel_hw, stride, dilation):
                # the inputs tap (i, j) met (n, h_new, w_new, c_prev)
                seen = dA_block[:, rows, cols, :]
                seen += (dZ_block @ W[i, j].T).reshape(seen.shape)
        return dW_columns

    dW = sum(_in_parallel(blocks, backward)).reshape(W.shape)
    (top, bottom), (left, right) = pads
    h, w = A_padded.shape[1:3]
    dA_prev = dA_padded[:, top : h - bottom, left : w - right, :]
    db = dZ.sum(axis=(0, 1, 2), dtype=dtype).reshape(b.shape)
    return dA_prev, dW, db


def _pool_geometry(A_prev, kernel_shape, stride, mode):
    A_prev = check_4d(A_prev, "A_prev")
    kernel_hw, stride = pair(kernel_shape, "kernel_shape"), pair(stride, "stride")
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
    out_hw = conv_output_hw(A_prev.shape[1:3], kernel_hw, "valid", stride)
    return A_prev, kernel_hw, stride, out_hw


def _combine_all(combine, parts: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    """combine(...combine(parts[0], parts[1])..., parts[-1]) written into `out`."""
    if len(parts) == 1:
        np.copyto(out, parts[0])
        return out
    combine(parts[0], parts[1], out=out)
    for part in parts[2:]:
        combine(out, part, out=out)
    return out


def _pool_block(A_prev, kernel_hw, stride, out_hw, mode, out=None) -> np.ndarray:
    """Max or mean of every window of A_prev (n, h, w, c): rows first, then columns (separable).

    Written into `out` (n, h_new, w_new, c) when given. Both passes combine whole contiguous rows:
    the column pass takes each row's pixels (c values each) shifted by 0..kw-1 pixels, which gives
    every window start, then keeps every sw-th pixel, copied as one opaque c-value item (NumPy's
    element-wise loops over NHWC's few channels are much slower).
    """
    combine = np.maximum if mode == "max" else np.add
    (kh, kw), (sh, sw), (h_new, w_new) = kernel_hw, stride, out_hw
    n, _, w, c = A_prev.shape
    row_span, starts = (h_new - 1) * sh + 1, (w - kw + 1) * c
    by_rows = _combine_all(
        combine,
        [A_prev[:, i : i + row_span : sh] for i in range(kh)],
        np.empty((n, h_new, w, c), dtype=A_prev.dtype),
    ).reshape(n, h_new, w * c)
    sliding = _combine_all(  # (n, h_new, (w - kw + 1) * c): the window starting at every column
        combine,
        [by_rows[:, :, j * c : j * c + starts] for j in range(kw)],
        np.empty((n, h_new, starts), dtype=A_prev.dtype),
    )
    if mode == "avg":
        sliding *= 1 / (kh * kw)
    if out is None:
        out = np.empty((n, h_new, w_new, c), dtype=A_prev.dtype)
    pixel = np.dtype((np.void, c * A_prev.itemsize))  # one pixel's c values as one item
    picked = sliding.view(pixel)[:, :, : (w_new - 1) * sw + 1 : sw]  # (n, h_new, w_new)
    np.copyto(out.reshape(n, h_new, w_new * c).view(pixel), picked)
    return out


def pool_forward(A_prev, kernel_shape, stride=(1, 1), mode="max"):
    """Forward pass of a pooling layer over "valid" windows.

    A_prev (m, h_prev, w_prev, c); kernel_shape (kh, kw); stride (sh, sw); mode "max" or "avg".
    Returns A (m, h_new, w_new, c).
    """
    A_prev, kernel_hw, stride, out_hw = _pool_geometry(A_prev, kernel_shape, stride, mode)
    dtype = float_dtype(A_prev)
    A_prev = A_prev.astype(dtype, copy=False)
    A = np.empty((A_prev.shape[0], *out_hw, A_prev.shape[3]), dtype=dtype)

    def forward(run: list[slice]) -> None:
        for block in run:
            _pool_block(A_prev[block], kernel_hw, stride, out_hw, mode, out=A[block])

    _in_parallel(_blocks(len(A), A_prev[:1].nbytes)[1], forward)
    return A


def pool_backward(dA, A_prev, kernel_shape, stride=(1, 1), mode="max", *, tie_break="all"):
    """Backward pass of a pooling layer: dA (m, h_new, w_new, c) routed back to A_prev's shape.

    Max mode sends each window's gradient to its maximum: with tie_break="all" (the course's
    convention) every position equal to the maximum receives it; with "first" (TensorFlow's rule)
    only the first in row-major order. Avg mode spreads it evenly. Overlapping windows add up.
    """
    A_prev, kernel_hw, stride, out_hw = _pool_geometry(A_prev, kernel_shape, stride, mode)
    if tie_break not in ("all", "first"):
        raise ValueError(f'tie_break must be "all" or "first", got {tie_break!r}')
    dA = _check_upstream(dA, "dA", (A_prev.shape[0], *out_hw, A_prev.shape[3]))
    dtype = float_dtype(dA, A_prev)
    dA, A_prev = dA.astype(dtype, copy=False), A_prev.astype(dtype, copy=False)
    dA_prev = np.zeros(A_prev.shape, dtype=dtype)

    def backward(run: list[slice]) -> None:
        for block in run:
            _pool_backward_block(A_prev[block], dA[block], dA_prev[block], kernel_hw, stride,
                                 out_hw, mode, tie_break)

    _in_parallel(_blocks(len(dA), 2 * A_prev[:1].nbytes)[1], backward)
    return dA_prev


def _pool_backward_block(x, upstream, grad, kernel_hw, stride, out_hw, mode, tie_break) -> None:
    """Adds to grad (n, h, w, c) the gradient upstream (n, h_new, w_new, c) sends back through the
    windows of x (n, h, w, c)."""
    if mode == "avg":
        share = upstream / (kernel_hw[0] * kernel_hw[1])
        for _, _, (rows, cols) in taps(out_hw, kernel_hw, stride, (1, 1)):
            grad[:, rows, cols, :] += share
        return
    window_max = _pool_block(x, kernel_hw, stride, out_hw, "max")
    unclaimed = np.ones(upstream.shape, dtype=bool)  # windows whose maximum is not routed yet
    for _, _, (rows, cols) in taps(out_hw, kernel_hw, stride, (1, 1)):
        is_max = x[:, rows, cols, :] == window_max
        if tie_break == "first":
            is_max &= unclaimed
            unclaimed &= ~is_max
        grad[:, rows, cols, :] += np.where(is_max, upstream, 0)
