"""Plotly figures of the Draw page: preprocessing steps, prediction, layer-by-layer views, saliency.

Pure builders `*_figure(...) -> go.Figure`: NumPy arrays in (NHWC activations of one example,
i.e. the batch axis already dropped), figures out. Images are drawn as heatmaps with square pixels
and row 0 at the top.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.data.preprocess import PreprocessSteps

UNSURE_BELOW = 0.8  # a top probability under this shows the runner-up
TOP_COLOUR, RUNNER_UP_COLOUR, OTHER_COLOUR = "#d62728", "#ff9f40", "#9aa5b1"
KERNEL_COLOURSCALE = "RdBu_r"  # red positive, blue negative, white zero
# Spelled out for the figures that skip validation (Plotly.js knows neither name):
KERNEL_SCALE, GRAY_SCALE = (plotly.colors.get_colorscale(n) for n in (KERNEL_COLOURSCALE, "gray"))
MAX_SHOWN_SIDE = 70  # pixels a side of a preprocessing panel (larger images are block means)
KERNEL_WIDTH = 0.6  # width of a kernel's panel relative to its feature map's
MAX_COLUMNS = 8  # feature maps a row (4 when each has its kernel beside it)
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
    """A row of images: raw input, cropped to the ink, strokes thinned, 20 px, centred in 28x28.

    Images longer than MAX_SHOWN_SIDE are drawn as the means of square blocks (hover gives a
    block's first row and column in the image): a panel is ~200 px wide, and the canvas' 280x280
    pixels made the figure large, re-sent and redrawn on every stroke.
    """
    thinned = f"strokes −{steps.thinned_by} px" if steps.thinned_by else "strokes kept"
    stages = {
        "raw": steps.raw,
        "cropped": steps.cropped,
        thinned: steps.thinned,
        "scaled": steps.scaled,
        "centred": steps.centred,
    }
    grid = _Grid(1, len(stages), None, horizontal_spacing=0.03, vertical_spacing=0.0)
    for col, (name, image) in enumerate(stages.items()):
        shown, rows, cols = block_means(image, MAX_SHOWN_SIDE)
        grid.add(0, col, f"{name}<br>{image.shape[0]}×{image.shape[1]}",
                 {**_heatmap(shown, GRAY_SCALE, 0.0, 1.0), "x": cols, "y": rows})
    return grid.figure(height=240)


def block_means(image: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means, rows, cols): image (h, w) as means of f x f blocks, f the smallest factor that
    brings the longer side to max_side or less (f = 1: the image itself); rows and cols give each
    block's first pixel. Blocks at the bottom and right edges may be partial."""
    h, w = image.shape
    f = -(-max(h, w) // max_side)
    padded = np.pad(np.asarray(image, np.float64), ((0, -h % f), (0, -w % f)))
    counts = np.pad(np.ones((h, w)), ((0, -h % f), (0, -w % f)))
    blocks = (padded.shape[0] // f, f, padded.shape[1] // f, f)
    means = padded.reshape(blocks).sum(axis=(1, 3)) / counts.reshape(blocks).sum(axis=(1, 3))
    return means, np.arange(0, h, f), np.arange(0, w, f)


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
    maps: np.ndarray,
    kernels: np.ndarray | None = None,
    *,
    layer: str = "conv",
    columns: int | None = None,
) -> go.Figure:
    """Grid of a layer's feature maps (h, w, c), each with its learned kernel beside it when given.

    kernels: W (kh, kw, c_prev, c) of the layer; a kernel with several input channels is shown as a
    small grid of its c_prev slices. Maps share one grey scale per layer (black at 0, or at the
    lowest value when some are negative, e.g. before an activation), kernels one red/blue scale.
    columns: maps a row; by default `grid_columns(c, with_kernels)`.
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
    columns = min(columns or grid_columns(channels, kernels is not None), channels)
    rows = -(-channels // columns)
    per_map = 1 if kernels is None else 2
    tiles = None if kernels is None else [_tile_channels(kernels[..., k]) for k in range(channels)]
    map_min, map_max = min(float(maps.min()), 0.0), max(float(maps.max()), 0.0)
    map_max = map_max if map_max > map_min else map_min + 1.0
    kernel_max = None if kernels is None else float(np.abs(kernels).max()) or 1.0
    grid = _Grid(rows, columns * per_map, [KERNEL_WIDTH, 1.0] * columns if tiles else None,
                 horizontal_spacing=0.012 if tiles else 0.02, vertical_spacing=0.3 / rows)
    for k in range(channels):
        row, col = divmod(k, columns)
        if tiles is not None:
            grid.add(row, col * per_map, f"W {k + 1}",
                     _heatmap(tiles[k], KERNEL_SCALE, -kernel_max, kernel_max))
        grid.add(row, col * per_map + per_map - 1, f"{layer} {k + 1}",
                 _heatmap(maps[..., k], GRAY_SCALE, map_min, map_max))
    return grid.figure(height=60 + rows * 150)


def grid_columns(maps: int, with_kernels: bool) -> int:
    """Maps a row for a layer of `maps` maps: as few rows as at most MAX_COLUMNS a row allow (half
    as many beside kernels), filled evenly (LeNet-5's 6 maps with kernels: 2 rows of 3)."""
    widest = MAX_COLUMNS // 2 if with_kernels else MAX_COLUMNS
    rows = -(-maps // widest)
    return -(-maps // rows)


class _Grid:
    """Image panels on a rows x cols grid, built as plain dicts like make_subplots' layout.

    make_subplots and add_trace validate every property, which is slow for conv2's 32 panels;
    these figures skip that, so colour scales are given as lists.
    """

    def __init__(self, rows, cols, column_widths, *, horizontal_spacing, vertical_spacing):
        widths = np.asarray(column_widths if column_widths is not None else [1.0] * cols, float)
        widths *= (1 - horizontal_spacing * (cols - 1)) / widths.sum()
        starts = np.concatenate([[0.0], np.cumsum(widths[:-1] + horizontal_spacing)])
        height = (1 - vertical_spacing * (rows - 1)) / rows
        self.x_domains = [[float(a), float(a + w)] for a, w in zip(starts, widths)]
        self.y_domains = [[1 - r * (height + vertical_spacing) - height,
                           1 - r * (height + vertical_spacing)] for r in range(rows)]
        self.cols, self.data, self.layout = cols, [], {"annotations": []}

    def add(self, row: int, col: int, title: str, trace: dict) -> None:
        """trace in the panel at (row, col) (from 0), titled above."""
        n = row * self.cols + col + 1
        suffix = "" if n == 1 else str(n)
        (x0, x1), (_, y1) = self.x_domains[col], self.y_domains[row]
        self.layout[f"xaxis{suffix}"] = {"domain": [x0, x1], "anchor": f"y{suffix}", **_IMAGE_AXIS}
        self.layout[f"yaxis{suffix}"] = {"domain": self.y_domains[row], "anchor": f"x{suffix}",
                                         "scaleanchor": f"x{suffix}", "autorange": "reversed",
                                         **_IMAGE_AXIS}
        self.layout["annotations"].append({
            "text": title, "x": (x0 + x1) / 2, "y": y1, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 11},
        })
        self.data.append({**trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})

    def figure(self, *, height: int) -> go.Figure:
        layout = {**self.layout, "height": height, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
                  "plot_bgcolor": "rgba(0,0,0,0)"}
        return go.Figure({"data": self.data, "layout": layout}, _validate=False)


_IMAGE_AXIS = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False,
               "constrain": "domain", "automargin": False}


def _heatmap(image: np.ndarray, colourscale, zmin: float, zmax: float) -> dict:
    """A heatmap trace (a dict) of a 2-D image without its own colour bar."""
    return {"type": "heatmap", "z": np.asarray(image, dtype=np.float64), "colorscale": colourscale,
            "zmin": zmin, "zmax": zmax, "showscale": False,
            "hovertemplate": "row %{y}, col %{x}: %{z:.3f}<extra></extra>"}


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
    """`_heatmap`, validated (a named colour scale is resolved)."""
    return go.Heatmap(_heatmap(image, colourscale, zmin, zmax))


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
