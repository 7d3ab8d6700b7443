"""Kernel presets for the explorer and validation of hand-edited kernel grids.

Every kernel is applied as the course and TensorFlow apply it: a cross-correlation (no flip), so
"Sobel left" responds where the image is brighter on the left of an edge. Kernels are 2-D (kh, kw);
`layer_weights` stacks them into W (kh, kw, c_prev, c_new).
"""

from math import comb

import numpy as np

MAX_SIZE = 7
MAX_FILTERS = 6

_FIXED_3X3 = {
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "outline (Laplacian)": np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]]),
    "emboss": np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]),
}
_SOBEL_TURNS = {"Sobel left": 0, "Sobel top": -1, "Sobel right": 2, "Sobel bottom": 1}  # np.rot90 k


def _binomial(size: int) -> np.ndarray:
    """Row `size - 1` of Pascal's triangle: (size,) binomial weights."""
    return np.array([comb(size - 1, k) for k in range(size)], dtype=np.float64)


def _identity(size: int) -> np.ndarray:
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return kernel


def _gaussian(size: int) -> np.ndarray:
    weights = _binomial(size)
    return np.outer(weights, weights) / weights.sum() ** 2


def _sobel_left(size: int) -> np.ndarray:
    """Smoothing (binomial) down the rows times a derivative across the columns; size 3 is Sobel."""
    derivative = np.diff(_binomial(size - 1), prepend=0.0, append=0.0)  # size 3: [1, 0, -1]
    return np.outer(_binomial(size), derivative)


ODD_SIZES = (1, 3, 5, 7)
ALL_SIZES = tuple(range(1, MAX_SIZE + 1))
PRESET_SIZES: dict[str, tuple[int, ...]] = {
    "identity": ODD_SIZES,
    "box blur": ALL_SIZES,
    "Gaussian blur": ALL_SIZES,
    **{name: (3,) for name in _FIXED_3X3},
    **{name: (3, 5, 7) for name in _SOBEL_TURNS},
    "random He-normal": ALL_SIZES,
}
PRESETS = tuple(PRESET_SIZES)


def preset_kernel(
    name: str, size: int = 3, *, seed: int = 0, fan_in_channels: int = 1
) -> np.ndarray:
    """The (size, size) float64 kernel of preset `name`.

    "random He-normal" draws N(0, 2 / fan_in) with fan_in = size * size * fan_in_channels, seeded.
    """
    if name not in PRESET_SIZES:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {name!r}")
    if size not in PRESET_SIZES[name]:
        raise ValueError(
            f"size {size!r} is not available for {name!r}; choose one of {PRESET_SIZES[name]}"
        )
    if name == "identity":
        return _identity(size)
    if name == "box blur":
        return np.full((size, size), 1.0 / size**2)
    if name == "Gaussian blur":
        return _gaussian(size)
    if name in _FIXED_3X3:
        return _FIXED_3X3[name].copy()
    if name in _SOBEL_TURNS:
        return np.rot90(_sobel_left(size), _SOBEL_TURNS[name]).copy()
    fan_in = size * size * fan_in_channels
    return np.random.default_rng(seed).normal(0.0, np.sqrt(2.0 / fan_in), (size, size))


def parse_kernel_grid(cells) -> np.ndarray:
    """Validate a hand-edited kernel grid (rows of cells: numbers or text) -> (kh, kw) float64.

    Raises ValueError naming the first bad cell (empty, not a number, NaN or infinite) and the fix.
    """
    rows = [list(row) for row in cells]
    if not rows or not rows[0]:
        raise ValueError("kernel grid is empty; give it at least one row and one column")
    if len({len(row) for row in rows}) != 1:
        raise ValueError(
            "kernel grid rows have different lengths; give every row the same number of cells"
        )
    if len(rows) > MAX_SIZE or len(rows[0]) > MAX_SIZE:
        raise ValueError(
            f"kernel grid is {len(rows)}x{len(rows[0])}; "
            f"the largest kernel is {MAX_SIZE}x{MAX_SIZE}"
        )
    kernel = np.empty((len(rows), len(rows[0])))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            kernel[r, c] = _cell_value(cell, r, c)
    return kernel


def _cell_value(cell, r: int, c: int) -> float:
    where = f"kernel cell (row {r + 1}, column {c + 1})"
    text = "" if cell is None else str(cell).strip()
    if not text:
        raise ValueError(f"{where} is empty; type a number")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{where} is {text!r}, not a number; type a number such as 0.5 or -1"
        ) from None
    if not np.isfinite(value):
        raise ValueError(f"{where} is {text!r}; type a finite number")
    return value


def layer_weights(kernels: list[np.ndarray], c_prev: int) -> np.ndarray:
    """Stack 2-D kernels (kh, kw) into W (kh, kw, c_prev, c_new): each kernel reads every
    channel."""
    if not 1 <= len(kernels) <= MAX_FILTERS:
        raise ValueError(f"kernels must hold 1 to {MAX_FILTERS} kernels, got {len(kernels)}")
    if len({k.shape for k in kernels}) != 1:
        raise ValueError("kernels must all have the same shape; pick one kernel size for the layer")
    W = np.stack(kernels, axis=-1)[:, :, None, :]  # (kh, kw, 1, c_new)
    return np.repeat(W, c_prev, axis=2)
