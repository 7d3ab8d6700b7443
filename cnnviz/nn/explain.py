"""The numbers behind the explorer's pages, built on `cnnviz.ops` (NumPy only; TensorFlow lazily).

One image at a time: A_prev (h, w, c) here, made (1, h, w, c) before calling ops. Kernels W
(kh, kw, c_prev, c_new), b (1, 1, 1, c_new); padding in one form everywhere: pads ((top, bottom),
(left, right)) as from `ops.resolve_padding`, which the ops take as they are.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cnnviz.nn import gradcheck, ops
from cnnviz.nn.gradcheck import GradientCheckRow

DZ_KINDS = ("all ones", "random", "impulse", "target kernel")


# --- output size -------------------------------------------------------------------------------


def size_formula(input_hw, kernel_hw, pads, stride) -> list[str]:
    """One line per axis: h_new = ⌊(h + top + bottom − kh) / sh⌋ + 1 with the numbers filled in."""
    lines = []
    for axis, size, k, (before, after), s in zip(("h", "w"), input_hw, kernel_hw, pads, stride):
        out = (size + before + after - k) // s + 1
        lines.append(
            f"{axis}_new = ⌊({axis}_prev + pad_{'top' if axis == 'h' else 'left'} + "
            f"pad_{'bottom' if axis == 'h' else 'right'} − k{axis}) / s{axis}⌋ + 1 = "
            f"⌊({size} + {before} + {after} − {k}) / {s}⌋ + 1 = {out}"
        )
    return lines


def unvisited(input_hw, kernel_hw, pads, stride) -> tuple[int, int]:
    """(rows, cols) at the input's bottom/right that no window reaches because of the floor."""
    counts = []
    for size, k, (before, after), s in zip(input_hw, kernel_hw, pads, stride):
        padded = size + before + after
        reached = (padded - k) // s * s + k  # padded rows/cols up to the last window's end
        counts.append(max(0, padded - reached - after))
    return counts[0], counts[1]


# --- step-through ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvStep:
    """One output value of a convolution, taken apart. window and product: (kh, kw, c_prev)."""

    top: int  # window's first row in the padded input
    left: int
    window: np.ndarray
    kernel: np.ndarray
    product: np.ndarray
    total: float
    bias: float
    z: float
    a: float


def conv_step(A_prev, W, b, pads, stride, activation: str, i: int, j: int, f: int) -> ConvStep:
    """Output (i, j) of filter f: window ⊙ W[..., f], summed, plus bias, through the activation."""
    kh, kw = W.shape[:2]
    top, left = i * stride[0], j * stride[1]
    A_padded = ops.pad(A_prev[None], pads)[0]
    window = A_padded[top : top + kh, left : left + kw, :]
    kernel = W[:, :, :, f]
    product = window * kernel
    total, bias = float(product.sum()), float(np.ravel(b)[f])
    z = total + bias
    act = ops.ACTIVATIONS[activation]
    a = z if act is None else float(act(np.float64(z)))
    return ConvStep(top, left, window, kernel, product, total, bias, z, a)


@dataclass(frozen=True)
class PoolStep:
    """One pooling output taken apart. window and winners: (kh, kw) of one channel."""

    top: int
    left: int
    window: np.ndarray
    value: float
    winners: np.ndarray  # bool: positions equal to the maximum (max mode)


def pool_step(A_prev, kernel_hw, stride, mode: str, i: int, j: int, channel: int) -> PoolStep:
    """Output (i, j) of `channel` of a valid pooling of A_prev (h, w, c)."""
    top, left = i * stride[0], j * stride[1]
    window = A_prev[top : top + kernel_hw[0], left : left + kernel_hw[1], channel]
    value = float(window.max() if mode == "max" else window.mean())
    return PoolStep(top, left, window, value, window == window.max())


# --- backward ----------------------------------------------------------------------------------


def upstream_dZ(
    kind: str, Z: np.ndarray, *, seed: int = 0, position=(0, 0, 0), T=None
) -> np.ndarray:
    """The upstream gradient dZ (shape of Z) chosen on the backpropagation page.

    "all ones"; "random" N(0, 1) seeded; "impulse" 1 at position (i, j, f) of every example;
    "target kernel": dL/dZ = Z − T for L = ½‖Z − T‖².
    """
    if kind == "all ones":
        return np.ones_like(Z)
    if kind == "random":
        return np.random.default_rng(seed).standard_normal(Z.shape).astype(Z.dtype)
    if kind == "impulse":
        dZ = np.zeros_like(Z)
        dZ[:, position[0], position[1], position[2]] = 1
        return dZ
    if kind == "target kernel":
        if T is None or np.shape(T) != Z.shape:
            raise ValueError(
                f"T must be the target layer's output, shape {Z.shape}; got {np.shape(T)}"
            )
        return Z - T
    raise ValueError(f"kind must be one of {list(DZ_KINDS)}, got {kind!r}")


def dilate(dZ: np.ndarray, stride) -> np.ndarray:
    """dZ (m, h_new, w_new, c) with stride − 1 zeros between entries.

    Returns (m, (h_new−1)·sh+1, (w_new−1)·sw+1, c).
    """
    m, h_new, w_new, c_new = dZ.shape
    dilated = np.zeros(
        (m, (h_new - 1) * stride[0] + 1, (w_new - 1) * stride[1] + 1, c_new), dZ.dtype
    )
    dilated[:, :: stride[0], :: stride[1], :] = dZ
    return dilated


def dA_prev_by_full_convolution(dZ, W, pads, stride, input_hw) -> np.ndarray:
    """dA_prev as a full convolution of the zero-dilated dZ with the 180°-rotated kernel.

    dZ (m, h_new, w_new, c_new) gets stride − 1 zeros between entries, (kh − 1, kw − 1) zeros
    around, and is cross-correlated with W rotated 180° (channels swapped: (kh, kw, c_new, c_prev)).
    Rows the floor left unvisited get zero; the padding is cut off. Returns (m, h, w, c_prev).
    """
    kh, kw = W.shape[:2]
    dilated = dilate(dZ, stride)
    m = dZ.shape[0]
    W_rotated = W[::-1, ::-1].transpose(0, 1, 3, 2)
    no_bias = np.zeros((1, 1, 1, W.shape[2]), dZ.dtype)
    dA_reached = ops.conv_forward(dilated, W_rotated, no_bias, None, padding=(kh - 1, kw - 1))
    (top, bottom), (left, right) = pads
    padded_hw = (input_hw[0] + top + bottom, input_hw[1] + left + right)
    dA_padded = np.zeros((m, *padded_hw, W.shape[2]), dZ.dtype)
    dA_padded[:, : dA_reached.shape[1], : dA_reached.shape[2]] = dA_reached
    return dA_padded[:, top : top + input_hw[0], left : left + input_hw[1]]


def max_pool_ties(A_prev, kernel_hw, stride) -> tuple[int, int]:
    """(windows whose maximum occurs more than once, all windows) of a valid max pooling.

    A_prev (m, h, w, c); every channel's windows count.
    """
    windows = ops.window_view(A_prev, kernel_hw, stride)  # (m, h_new, w_new, kh, kw, c)
    maxima = windows.max(axis=(3, 4), keepdims=True)
    count = (windows == maxima).sum(axis=(3, 4))
    return int((count > 1).sum()), int(count.size)


def gradient_check(
    A_prev, W, b, dZ, pads, stride, *, samples: int = 6, seed: int = 0
) -> list[GradientCheckRow]:
    """gradcheck's centred differences of L = Σ dZ ⊙ Z on sampled entries of A_prev, W and b,
    float64, against `conv_backward`; entries with a non-zero analytic gradient are sampled first.
    """
    params = {
        "A_prev": np.array(A_prev, np.float64),
        "W": np.array(W, np.float64),
        "b": np.array(b, np.float64),
    }
    dZ = np.asarray(dZ, np.float64)
    analytic = dict(zip(params, ops.conv_backward(dZ, *params.values(), pads, stride)))

    def loss(_) -> float:  # reads params, one of which gradcheck has just shifted
        return float((ops.conv_forward(*params.values(), None, pads, stride) * dZ).sum())

    rng = np.random.default_rng(seed)
    rows = []
    for name, array in params.items():
        flat = _sample_entries(analytic[name], samples, rng)
        indices = list(zip(*np.unravel_index(flat, array.shape)))
        numeric = gradcheck.numerical_gradient(loss, array, indices)
        rows += gradcheck.check_rows(name, analytic[name], numeric, indices)
    return rows


def _sample_entries(gradient: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of `samples` entries, non-zero gradients first (they test the most)."""
    nonzero = gradient.ravel() != 0
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(nonzero)), rng.permutation(np.flatnonzero(~nonzero))]
    )
    return order[:samples]


def learn_kernel(
    A_prev,
    W_target,
    pads,
    stride,
    *,
    steps: int = 100,
    seed: int = 0,
    momentum: float = 0.9,
    step_scale: float = 1.0,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Gradient descent on W from a He-normal start so that conv(A_prev, W) matches
    conv(A_prev, W_target).

    A_prev (m, h, w, c), W_target (kh, kw, c, c_new); no bias, no activation; loss ½ mean (Z − T)².
    The gradient comes from `conv_backward`; the step is step_scale / L with L the loss's largest
    curvature (top eigenvalue of the windows' second-moment matrix), with heavy-ball momentum.
    Yields (step, loss, W) after each step, step 0 being the start.
    """
    A_prev = np.asarray(A_prev, np.float64)
    no_bias = np.zeros((1, 1, 1, W_target.shape[3]))
    T = ops.conv_forward(A_prev, W_target, no_bias, None, pads, stride)
    windows = ops.window_view(ops.pad(A_prev, pads), W_target.shape[:2], stride)
    patches = windows.reshape(-1, int(np.prod(W_target.shape[:3])))
    curvature = np.linalg.eigvalsh(patches.T @ patches)[-1] / T.size  # of the loss, per filter
    learning_rate = step_scale / max(curvature, 1e-12)
    fan_in = int(np.prod(W_target.shape[:3]))
    W = np.random.default_rng(seed).normal(0.0, np.sqrt(2.0 / fan_in), W_target.shape)
    velocity = np.zeros_like(W)
    for step in range(steps + 1):
        residual = ops.conv_forward(A_prev, W, no_bias, None, pads, stride) - T
        yield step, 0.5 * float(np.mean(residual**2)), W.copy()
        _, dW, _ = ops.conv_backward(residual / residual.size, A_prev, W, no_bias, pads, stride)
        velocity = momentum * velocity - learning_rate * dW
        W = W + velocity


# --- the TensorFlow cross-check ---------------------------------------------------------------


def tensorflow_conv(A_prev, W, b, pads, stride, activation: str) -> np.ndarray:
    """The same layer by `tf.nn.conv2d` (float64), for the cross-check. Imports TensorFlow."""
    import tensorflow as tf

    A_padded = ops.pad(np.asarray(A_prev, np.float64), pads)
    Z = tf.nn.conv2d(A_padded, np.asarray(W, np.float64), strides=(1, *stride, 1), padding="VALID")
    Z = (Z + np.asarray(b, np.float64)).numpy()
    act = ops.ACTIVATIONS[activation]
    return Z if act is None else act(Z)
