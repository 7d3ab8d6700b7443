"""The one gradient checker: centred finite differences and one relative error (CS231n's
`gradient_check.py`). explain (conv layer), dense (the 2-3-1 network) and the tests use it.

    numeric = numerical_gradient(lambda w: loss(w), w)
    error = relative_error(analytic, numeric)
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

EPSILON = 1e-6  # the step of the centred differences, in float64
# Below FLOOR a gradient is compared absolutely: a zero gradient is not divided by the rounding
# noise of its numerical twin, and a wrong gradient of any size still shows an error near 1.
FLOOR = 1e-3
ERROR_LABEL = "relative error"  # the column the pages show, beside ERROR_FORMULA
ERROR_FORMULA = f"|a − n| / max(|a|, |n|, {FLOOR:g})"


@dataclass(frozen=True)
class GradientCheckRow:
    """One checked entry: its parameter's name, its index, both gradients and relative_error."""

    parameter: str
    index: tuple
    analytic: float
    numeric: float
    error: float


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    indices: Iterable[tuple] | None = None,
    epsilon: float = EPSILON,
) -> np.ndarray:
    """(f(x + ε e_i) − f(x − ε e_i)) / 2ε for every entry i of x, or only `indices` (NaN elsewhere).

    x is a float array changed in place while f runs and restored after; f(x) is a scalar.
    Returns an array shaped like x.
    """
    gradient = np.full(x.shape, np.nan) if indices is not None else np.empty(x.shape)
    for index in np.ndindex(x.shape) if indices is None else indices:
        saved = x[index]
        x[index] = saved + epsilon
        plus = float(f(x))
        x[index] = saved - epsilon
        minus = float(f(x))
        x[index] = saved
        gradient[index] = (plus - minus) / (2 * epsilon)
    return gradient


def relative_error(analytic, numeric):
    """|a − n| / max(|a|, |n|, FLOOR), elementwise: ~1e-7 or less when a gradient is right."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), FLOOR)
    return np.abs(analytic - numeric) / scale


def check_rows(
    name: str, analytic: np.ndarray, numeric: np.ndarray, indices: Iterable[tuple]
) -> list[GradientCheckRow]:
    """One GradientCheckRow per index of the parameter `name`."""
    rows = []
    for index in indices:
        a, n = float(analytic[index]), float(numeric[index])
        error = float(relative_error(a, n))
        rows.append(GradientCheckRow(name, tuple(int(k) for k in index), a, n, error))
    return rows


def table(rows: Iterable[GradientCheckRow]) -> list[dict]:
    """The rows as the pages show them: one column per field, the error under ERROR_LABEL."""
    return [
        {"parameter": r.parameter, "index": str(r.index), "analytic": r.analytic,
         "numeric": r.numeric, ERROR_LABEL: f"{r.error:.1e}"}
        for r in rows
    ]
