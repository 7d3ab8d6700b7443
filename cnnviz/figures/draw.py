"""Plotly figures of the Draw page: preprocessing steps, prediction, layer-by-layer views, saliency.

Pure builders `*_figure(...) -> go.Figure`: NumPy arrays in (NHWC activations of one example,
i.e. the batch axis already dropped), figures out. Images are drawn as heatmaps with square pixels
and row 0 at the top.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.preprocess import PreprocessSteps

UNSURE_BELOW = 0.8  # a top probability under this shows the runner-up
TOP_COLOUR, RUNNER_UP_COLOUR, OTHER_COLOUR = "#d62728", "#ff9f40", "#9aa5b1"
KERNEL_COLOURSCALE = "RdBu_r"  # red positive, blue negative, white zero
KERNEL_WIDTH = 0.6  # width of a kernel's panel relative to its feature map's
SALIENCY_COLOURSCALE = [  # blue: more ink here lowers the class probability; red: raises it
    [0.0, "rgba(49, 130, 255, 0.95)"],
    [0.5, "rgba(255, 255, 255, 0)"],
    [1.0, "rgba(255, 40, 40, 0.95)"],
]


def top_two(probs: np.ndarray) -> tuple[int, int | None]:
    """(top class, runner-up class or None when the top probability is at least `UNSURE_BELOW`)."""
    order = np.argsort(probs)[::-1]
    runner_up = int(order[1]) if probs[order[0]] < UNSURE_BELOW else None
    return int(order[0]), runner_up


def preprocess_steps_figure(steps: PreprocessSteps) -> go.Figure:
    """A row of images: raw input, cropped to the ink, strokes thinned, 20 px, centred in 28x28."""
    thinned = f"strokes −{steps.thinned_by} px" if steps.thinned_by else "strokes kept"
    stages = {
        "raw": steps.raw,
        "cropped": steps.cropped,
        thinned: steps.thinned,
        "scaled": steps.scaled,
        "centred": steps.centred,
    }
    titles = [f"{name}<br>{image.shape[0]}×{image.shape[1]}" for name, image in stages.items()]
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=titles, horizontal_spacing=0.03)
    for col, image in enumerate(stages.values(), start=1):
        fig.add_trace(_image_trace(image, "gray", 0.0, 1.0), row=1, col=col)
    return _image_layout(fig, height=240)


def probability_figure(probs: np.ndarray, class_names: Sequence[str] | None = None) -> go.Figure:
    """Bars of class probabilities (k,); the top class and, if unsure, the runner-up coloured."""
    probs = np.asarray(probs, dtype=np.float64)
    names = list(class_names) if class_names is not None else [str(k) for k in range(len(probs))]
    top, runner_up = top_two(probs)
    colours = [OTHER_COLOUR] * len(probs)
    colours[top] = TOP_COLOUR
    if runner_up is not None:
        colours[runner_up] = RUNNER_UP_COLOUR
    fig = go.Figure(
        go.Bar(
            x=names,
            y=probs,
            marker_color=colours,
            text=[f"{p:.0%}" for p in probs],
            textposition="outside",
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=280,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"range": [0, 1.12], "title": "probability", "tickformat": ".0%"},
        xaxis={"type": "category", "title": "class"},
        title="What the network reads",
    )
    return fig


def outputs_figure(values: np.ndarray) -> go.Figure:
    """Bars of a model's raw outputs (k,) by unit, the largest coloured: for an output layer that
    is not a softmax over the classes."""
    values = np.asarray(values, dtype=np.float64).ravel()
    colours = [OTHER_COLOUR] * len(values)
    colours[int(np.argmax(values))] = TOP_COLOUR
    fig = go.Figure(go.Bar(x=np.arange(len(values)), y=values, marker_color=colours,
                           hovertemplate="unit %{x}: %{y:.4g}<extra></extra>"))
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis={"title": "output unit"}, yaxis={"title": "value"},
                      title="The model's outputs, as they are")
    return fig


def feature_maps_figure(
    maps: np.ndarray, kernels: np.ndarray | None = None, *, layer: str = "conv", columns: int = 4
) -> go.Figure:
    """Grid of a layer's feature maps (h, w, c), each with its learned kernel beside it when given.

    kernels: W (kh, kw, c_prev, c) of the layer; a kernel with several input channels is shown as a
    small grid of its c_prev slices. Maps share one grey scale per layer (black at 0, or at the
    lowest value when some are negative, e.g. before an activation), kernels one red/blue scale.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (h, w, c) (one example); got {maps.shape}")
    channels = maps.shape[2]
    if kernels is not None and (kernels.ndim != 4 or kernels.shape[3] != channels):
        raise ValueError(
            f"kernels must have shape (kh, kw, c_prev, {channels}) to match maps; "
            f"got {np.shape(kernels)}"
        )
    columns = min(columns, channels)
    rows = -(-channels // columns)
    per_map = 1 if kernels is None else 2
    tiles = None if kernels is None else [_tile_channels(kernels[..., k]) for k in range(channels)]
    titles = []
    for k in range(rows * columns):
        if kernels is not None:
            titles.append(f"W {k + 1}" if k < channels else "")
        titles.append(f"{layer} {k + 1}" if k < channels else "")
    widths = None if tiles is None else [KERNEL_WIDTH, 1.0] * columns
    fig = make_subplots(
        rows=rows,
        cols=columns * per_map,
        subplot_titles=titles,
        column_widths=widths,
        horizontal_spacing=0.012 if kernels is not None else 0.02,
        vertical_spacing=0.3 / rows,
    )
    map_min, map_max = min(float(maps.min()), 0.0), max(float(maps.max()), 0.0)
    map_max = map_max if map_max > map_min else map_min + 1.0
    kernel_max = None if kernels is None else float(np.abs(kernels).max()) or 1.0
    for k in range(channels):
        row, col = divmod(k, columns)
        if tiles is not None:
            fig.add_trace(
                _image_trace(tiles[k], KERNEL_COLOURSCALE, -kernel_max, kernel_max),
                row=row + 1,
                col=col * per_map + 1,
            )
        fig.add_trace(
            _image_trace(maps[..., k], "gray", map_min, map_max),
            row=row + 1,
            col=col * per_map + per_map,
        )
    fig.update_annotations(font_size=11)
    return _image_layout(fig, height=60 + rows * 150)


def dense_layers_figure(activations: Mapping[str, np.ndarray]) -> go.Figure:
    """One bar chart row per dense layer: the activation (n,) of each of its units."""
    fig = make_subplots(
        rows=len(activations), cols=1, subplot_titles=list(activations), vertical_spacing=0.22
    )
    for row, (name, values) in enumerate(activations.items(), start=1):
        values = np.asarray(values).ravel()
        fig.add_trace(
            go.Bar(
                x=np.arange(1, len(values) + 1),
                y=values,
                name=name,
                marker_color="#4c78a8",
                hovertemplate=f"{name} unit %{{x}}: %{{y:.3f}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_xaxes(title_text="unit", row=row, col=1)
        fig.update_yaxes(title_text="activation", row=row, col=1)
    fig.update_layout(
        height=40 + 220 * len(activations),
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def saliency_figure(digit: np.ndarray, saliency: np.ndarray, class_name: str) -> go.Figure:
    """The digit (28, 28) in grey, saliency (28, 28) over it: red raises class_name, blue lowers it.

    saliency: d(score of class_name)/d(input pixel); drawn on a symmetric scale around 0.
    """
    digit, saliency = np.asarray(digit), np.asarray(saliency)
    if digit.shape != saliency.shape or digit.ndim != 2:
        raise ValueError(
            "digit and saliency must be (h, w) of the same shape; "
            f"got {digit.shape} and {saliency.shape}"
        )
    limit = float(np.abs(saliency).max()) or 1.0
    fig = go.Figure(
        [
            _image_trace(digit, "gray", 0.0, 2.0),
            _image_trace(saliency, SALIENCY_COLOURSCALE, -limit, limit),
        ]
    )
    fig.data[1].update(showscale=True, colorbar={"title": "d score / d pixel", "thickness": 12})
    fig.update_layout(title=f"Saliency of “{class_name}”")
    return _image_layout(fig, height=360)


def _tile_channels(kernel: np.ndarray) -> np.ndarray:
    """(kh, kw, c) -> one 2-D image of the c slices on a near-square grid, NaN gaps between them."""
    kh, kw, channels = kernel.shape
    grid_cols = int(np.ceil(np.sqrt(channels)))
    grid_rows = -(-channels // grid_cols)
    tiled = np.full((grid_rows * (kh + 1) - 1, grid_cols * (kw + 1) - 1), np.nan)
    for c in range(channels):
        r, q = divmod(c, grid_cols)
        tiled[r * (kh + 1) : r * (kh + 1) + kh, q * (kw + 1) : q * (kw + 1) + kw] = kernel[..., c]
    return tiled


def _image_trace(image: np.ndarray, colourscale, zmin: float, zmax: float) -> go.Heatmap:
    """A heatmap of a 2-D image without its own colour bar."""
    return go.Heatmap(
        z=np.asarray(image, dtype=np.float64),
        colorscale=colourscale,
        zmin=zmin,
        zmax=zmax,
        showscale=False,
        hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
    )


def _image_layout(fig: go.Figure, *, height: int) -> go.Figure:
    """Square pixels, row 0 on top, no ticks or grid, on every image axis of fig."""
    fig.update_xaxes(
        showticklabels=False, ticks="", showgrid=False, zeroline=False, constrain="domain"
    )
    fig.for_each_yaxis(
        lambda axis: axis.update(
            scaleanchor=axis.anchor or "x",
            autorange="reversed",
            showticklabels=False,
            ticks="",
            showgrid=False,
            zeroline=False,
            constrain="domain",
        )
    )
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10}, plot_bgcolor="rgba(0,0,0,0)"
    )
    return fig
