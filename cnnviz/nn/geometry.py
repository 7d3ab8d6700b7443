"""The geometry of a layer: padding rules, output sizes, zero padding, window views and kernel
taps (NHWC), and the checks that name a bad argument and its fix. `cnnviz.nn.ops` computes on them;
`cnnviz.nn.explain` and the pages draw them."""

from collections.abc import Iterator

import numpy as np

Pads = tuple[tuple[int, int], tuple[int, int]]


def pair(value, name: str) -> tuple[int, int]:
    """(a, b) of positive ints from an int or a pair; ValueError naming `name` otherwise."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_4d(array, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 4:
        raise ValueError(
            f"{name} must be 4-D (m, height, width, channels), got shape {array.shape}; "
            f"add the missing axes, e.g. x[None, ..., None] for one grayscale image"
        )
    return array


def float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype results take: float32 stays float32, float64 stays float64."""
    return np.result_type(*(a.dtype for a in arrays), np.float32)


def resolve_padding(padding, input_hw, kernel_hw, stride, dilation=(1, 1)) -> Pads:
    """Zeros to add ((top, bottom), (left, right)) for "valid", "same", an explicit (ph, pw) or
    pads already in that form (a layer resolved once keeps one padding for every call).

    "same" is TensorFlow's rule: output ceil(h / s), the odd extra row/column at the bottom/right.
    """
    if np.shape(padding) == (2, 2) and all(
        isinstance(p, (int, np.integer)) and p >= 0 for p in np.ravel(padding)
    ):
        return (int(padding[0][0]), int(padding[0][1])), (int(padding[1][0]), int(padding[1][1]))
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            pads = []
            for size, k, s, d in zip(input_hw, kernel_hw, stride, dilation):
                total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return pads[0], pads[1]
    elif np.ndim(padding) == 1 and len(padding) == 2 and all(
        isinstance(p, (int, np.integer)) and p >= 0 for p in padding
    ):
        return (int(padding[0]),) * 2, (int(padding[1]),) * 2
    raise ValueError(
        f'padding must be "valid", "same", a pair of non-negative ints (ph, pw) or pads '
        f"((top, bottom), (left, right)), got {padding!r}"
    )


def conv_output_hw(input_hw, kernel_hw, padding, stride, dilation=(1, 1)) -> tuple[int, int]:
    """(h_new, w_new) of a layer; ValueError when the kernel is larger than the padded input."""
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, input_hw, kernel_hw, stride, dilation)
    out = []
    for size, k, s, d, (before, after), axis in zip(
        input_hw, kernel_hw, stride, dilation, pads, ("height", "width")
    ):
        span, padded = (k - 1) * d + 1, size + before + after
        if span > padded:
            raise ValueError(
                f"kernel {axis} {k} (span {span} with dilation {d}) is larger than the padded "
                f"input {axis} {padded}; use a smaller kernel, more padding or 'same' padding"
            )
        out.append(1 + (padded - span) // s)
    return out[0], out[1]


def pad(A_prev: np.ndarray, pads: Pads) -> np.ndarray:
    """A_prev (m, h, w, c) with zeros added around its two spatial axes."""
    if pads == ((0, 0), (0, 0)):
        return A_prev
    return np.pad(A_prev, ((0, 0), pads[0], pads[1], (0, 0)))


def window_view(A_padded: np.ndarray, kernel_hw, stride, dilation=(1, 1)) -> np.ndarray:
    """Read-only strided view (m, h_new, w_new, kh, kw, c) of every window, without copying."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, pair(stride, "stride"), pair(dilation, "dilation")
    m, h, w, c = A_padded.shape
    h_new, w_new = 1 + (h - (kh - 1) * dh - 1) // sh, 1 + (w - (kw - 1) * dw - 1) // sw
    s_m, s_h, s_w, s_c = A_padded.strides
    return np.lib.stride_tricks.as_strided(
        A_padded,
        shape=(m, h_new, w_new, kh, kw, c),
        strides=(s_m, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
        writeable=False,
    )


def taps(out_hw, kernel_hw, stride, dilation) -> Iterator[tuple[int, int, tuple[slice, slice]]]:
    """(i, j, spatial slices) for every kernel tap: the input rows/columns that tap (i, j) meets."""
    (h_new, w_new), (sh, sw), (dh, dw) = out_hw, stride, dilation
    for i in range(kernel_hw[0]):
        for j in range(kernel_hw[1]):
            rows = slice(i * dh, i * dh + (h_new - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (w_new - 1) * sw + 1, sw)
            yield i, j, (rows, cols)
