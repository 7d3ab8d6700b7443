"""Plotly figures of `cnnviz check --report`: where a student's output differs from the expected
one.

Pure builders: 2-D slices (one example and channel of an NHWC output, or one kernel slice) in,
figures out. Row 0 at the top, square cells; small slices show their numbers.
"""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

VALUE_COLOURSCALE = "Viridis"
DIFFERENCE_COLOURSCALE = "RdBu_r"  # red: yours is larger, blue: smaller, white: equal
NUMBERS_UP_TO = 16  # cells per side up to which each cell shows its value


def comparison_figure(expected: np.ndarray, got: np.ndarray, title: str) -> go.Figure:
    """Expected, got and got - expected side by side, each (h, w).

    Expected and got share one colour scale; the difference has its own, symmetric around 0.
    When the shapes differ the difference covers their common top-left part only.
    """
    expected, got = np.atleast_2d(expected), np.atleast_2d(got)
    if expected.ndim != 2 or got.ndim != 2:
        raise ValueError(
            f"expected and got must be 2-D slices; got {expected.shape} and {got.shape}"
        )
    rows, cols = min(expected.shape[0], got.shape[0]), min(expected.shape[1], got.shape[1])
    difference = got[:rows, :cols] - expected[:rows, :cols]
    same_shape = expected.shape == got.shape
    titles = [f"expected {expected.shape}", f"got {got.shape}",
              "got − expected" + ("" if same_shape else f" (common {rows}×{cols} part)")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    finite = np.concatenate([expected.ravel(), got[np.isfinite(got)].ravel()])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    limit = float(np.nanmax(np.abs(difference))) if difference.size else 0.0
    limit = limit if np.isfinite(limit) and limit > 0 else 1.0
    panels = [(expected, VALUE_COLOURSCALE, low, high), (got, VALUE_COLOURSCALE, low, high),
              (difference, DIFFERENCE_COLOURSCALE, -limit, limit)]
    for col, (image, scale, zmin, zmax) in enumerate(panels, start=1):
        fig.add_trace(_heatmap(image, scale, zmin, zmax, colourbar_x=None if col < 3 else 1.0),
                      row=1, col=col)
    small = max(*expected.shape, *got.shape) <= NUMBERS_UP_TO
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", dtick=1 if small else None)
    fig.update_yaxes(dtick=1 if small else None)
    fig.for_each_yaxis(lambda axis: axis.update(scaleanchor=axis.anchor, autorange="reversed",
                                                showgrid=False, zeroline=False, constrain="domain"))
    fig.update_layout(title=title, height=360, margin={"l": 30, "r": 30, "t": 90, "b": 20})
    return fig


def _heatmap(image: np.ndarray, scale, zmin: float, zmax: float, colourbar_x) -> go.Heatmap:
    small = max(image.shape) <= NUMBERS_UP_TO
    return go.Heatmap(
        z=np.asarray(image, dtype=np.float64),
        colorscale=scale,
        zmin=zmin,
        zmax=zmax,
        showscale=colourbar_x is not None,
        colorbar={"x": colourbar_x, "thickness": 12} if colourbar_x is not None else None,
        texttemplate="%{z:.3g}" if small else None,
        hovertemplate="row %{y}, col %{x}: %{z:.6g}<extra></extra>",
    )
