"""Figures of the training page: learning curves, first-layer filters, confusion matrix, test
images.

Pure functions: lists of metric rows (as in cnnviz.training.History) or arrays in, Plotly figures
out.
"""

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.figures.data import tiles_figure

METRICS = (("loss", "loss"), ("accuracy", "accuracy"))  # (row key, axis title)
MISTAKE_COLOUR, TRAIN_COLOUR, VALIDATION_COLOUR = "#d62728", "#1f77b4", "#ff7f0e"
RUN_COLOURS = plotly.colors.qualitative.Plotly
MAX_CURVE_POINTS = 400  # points a per-batch curve draws (the browser redraws it on every poll)


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing); weight in
    [0, 1).

    Vectorized in blocks short enough that weight ** -block stays below ~1e12 (float64 keeps
    the sums exact to ~1e-13): the live chart smooths every batch of a run on every poll, and
    a Python loop over 50,000 batches held the server for a quarter of a second each time.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    if weight == 0 or not len(values):
        return values.copy()
    block = max(1, min(len(values), int(27.6 / -np.log(weight))))  # weight ** -block <= e**27.6
    powers = weight ** np.arange(block + 1)  # (block + 1,)
    averages, carried = np.empty_like(values), 0.0
    for start in range(0, len(values), block):
        chunk = values[start:start + block]
        n = len(chunk)
        # average[j] = weight**(j+1) * carried + (1 - weight) * sum_i<=j weight**(j-i) chunk[i]
        sums = np.cumsum(chunk / powers[:n]) * powers[:n]
        averages[start:start + n] = powers[1:n + 1] * carried + (1 - weight) * sums
        carried = averages[start + n - 1]
    return averages / (1 - weight ** np.arange(1, len(values) + 1))


def curve_points(count: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of the points a curve of `count` values draws: all of them up to `limit`, else
    `limit` evenly spaced ones, first and last included."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


def _two_panels(traces: list[list[dict]], x_title: str, titles=("loss", "accuracy"),
                **x_axis) -> go.Figure:
    """Loss (left) and accuracy (right) panels, one list of scatter traces (dicts) each.

    Built as one dict and not validated: make_subplots and validation are slow, and the live
    curves are rebuilt on every poll of every training session. Margins are fixed (room for the
    tick labels and the x title): measuring the labels first (automargin) slows every redraw of
    the live chart in the browser.
    """
    layout = {"height": 320, "margin": {"l": 45, "r": 20, "t": 40, "b": 50},
              "legend": {"orientation": "h", "y": -0.2}, "annotations": []}
    data = []
    for col, (panel, title, domain) in enumerate(zip(traces, titles, ((0, 0.45), (0.55, 1)))):
        suffix = "" if col == 0 else "2"
        layout[f"xaxis{suffix}"] = {"domain": domain, "anchor": f"y{suffix}", "automargin": False,
                                    "title": {"text": x_title}, **x_axis}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "automargin": False}
        layout["annotations"].append({
            "text": title, "x": sum(domain) / 2, "y": 1, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 16}})
        data += [{"type": "scatter", **trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
                 for trace in panel]
    return go.Figure({"data": data, "layout": layout}, _validate=False)  # our own, known-good keys


def batch_curves_figure(batches: list[dict], smoothing: float = 0.9) -> go.Figure:
    """Per-batch training loss and accuracy: raw (faint) and smoothed, x = batches seen.

    The smoothing runs over every batch; both curves draw at most MAX_CURVE_POINTS of them, so the
    live chart, re-sent on every poll, stays the same size however long the run.
    """
    shown = curve_points(len(batches))
    panels = []
    for key, title in METRICS:
        values = np.array([row[key] for row in batches], dtype=np.float64)
        smoothed = smooth(values, smoothing)
        line = {"x": (shown + 1).tolist(), "mode": "lines", "showlegend": False}  # batches seen
        panels.append([
            {**line, "y": values[shown], "name": f"{title} (batch)", "opacity": 0.3,
             "line": {"color": TRAIN_COLOUR, "width": 1}},
            {**line, "y": smoothed[shown], "name": f"{title} (smoothed)",
             "line": {"color": TRAIN_COLOUR, "width": 2}},
        ])
    return _two_panels(panels, "batch")


def _epoch_lines(label: str, epochs: list[dict], prefix: str, colour: str) -> list[dict]:
    """One line per metric (loss, accuracy) of the rows' prefix+metric, x = epoch from 1; the
    legend names it once."""
    x = [row["epoch"] + 1 for row in epochs]
    return [{"x": x, "y": [row[prefix + key] for row in epochs], "mode": "lines+markers",
             "name": label, "legendgroup": label, "showlegend": col == 0, "line": {"color": colour}}
            for col, (key, _) in enumerate(METRICS)]


def epoch_curves_figure(epochs: list[dict]) -> go.Figure:
    """Per-epoch loss and accuracy, training vs validation, x = epoch number from 1."""
    lines = [_epoch_lines(name, epochs, prefix, colour) for prefix, name, colour in
             (("", "train", TRAIN_COLOUR), ("val_", "validation", VALIDATION_COLOUR))]
    return _two_panels([[line[col] for line in lines] for col in range(2)], "epoch", dtick=1)


def runs_overlay_figure(runs: dict[str, list[dict]]) -> go.Figure:
    """Validation loss and accuracy per epoch of several runs, one line per run label, in the same
    colour in both panels."""
    lines = [_epoch_lines(label, epochs, "val_", RUN_COLOURS[index % len(RUN_COLOURS)])
             for index, (label, epochs) in enumerate(runs.items())]
    return _two_panels([[line[col] for line in lines] for col in range(2)], "epoch",
                       ("validation loss", "validation accuracy"), dtick=1)


def filters_figure(first_layer: np.ndarray, max_filters: int = 16) -> go.Figure:
    """First-layer filters W (kh, kw, 1, n) as grey heatmaps, one per filter (at most max_filters),
    each on a symmetric colour scale so that zero is mid-grey."""
    first_layer = np.asarray(first_layer)
    if first_layer.ndim != 4 or first_layer.shape[2] != 1:
        raise ValueError(f"first_layer must have shape (kh, kw, 1, n), got {first_layer.shape}")
    n = min(first_layer.shape[3], max_filters)
    cols = min(n, 8)
    rows = -(-n // cols)
    titles = [f"filter {i + 1}" for i in range(n)]
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                           horizontal_spacing=0.02, vertical_spacing=0.08)
    for index in range(n):
        kernel = first_layer[:, :, 0, index]
        limit = float(np.abs(kernel).max()) or 1.0
        figure.add_trace(go.Heatmap(z=kernel, zmin=-limit, zmax=limit, colorscale="gray",
                                    showscale=False, hovertemplate="w=%{z:.3f}<extra></extra>"),
                         row=index // cols + 1, col=index % cols + 1)
    figure.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=None)
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(height=130 * rows + 40, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} and "
                         f"{y_pred.shape}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(n_classes, -1)


def confusion_figure(matrix: np.ndarray, class_names: list[str]) -> go.Figure:
    """Heatmap of a confusion matrix with the count in every cell; y = true, x = predicted.

    An invisible marker sits on every cell (trace 1, point index = true * n + predicted) so that
    clicking a cell selects it (Streamlit's plotly_chart selects points, not heatmap cells).
    """
    labels = [f"{i} {name}" if name != str(i) else name for i, name in enumerate(class_names)]
    n = len(labels)
    figure = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues", text=matrix,
                                  texttemplate="%{text}", hoverinfo="skip"))
    figure.add_trace(go.Scatter(
        x=[labels[p] for _ in range(n) for p in range(n)],
        y=[labels[t] for t in range(n) for _ in range(n)],
        customdata=np.asarray(matrix).reshape(-1), mode="markers", showlegend=False,
        marker={"size": 28, "symbol": "square", "color": "rgba(0, 0, 0, 0)"},
        hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} images<br>click to show them"
                      "<extra></extra>",
    ))
    figure.update_yaxes(title_text="true class", autorange="reversed", type="category")
    figure.update_xaxes(title_text="predicted class", type="category")
    figure.update_layout(height=460, margin={"l": 40, "r": 20, "t": 20, "b": 40},
                         clickmode="event+select")
    return figure


def confusion_cell(point_index: int, n_classes: int = 10) -> tuple[int, int]:
    """(true class, predicted class) of a point selected on confusion_figure's cell markers."""
    return divmod(int(point_index), n_classes)


def select_examples(y_true, y_pred, true_class=None, predicted_class=None,
                    mistakes_only: bool = False) -> np.ndarray:
    """Indices of the test images in one confusion-matrix cell, row or column (None = any)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    keep = np.ones(len(y_true), dtype=bool)
    if true_class is not None:
        keep &= y_true == true_class
    if predicted_class is not None:
        keep &= y_pred == predicted_class
    if mistakes_only:
        keep &= y_true != y_pred
    return np.flatnonzero(keep)


def image_grid_figure(images: np.ndarray, y_true, y_pred, class_names: list[str],
                      cols: int = 8) -> go.Figure:
    """Images (n, 28, 28) tiled in one heatmap, each titled "GT a / P b"; mistakes framed in red."""
    pairs = list(zip(y_true, y_pred))
    return tiles_figure(
        images, [f"GT {class_names[t]} / P {class_names[p]}" for t, p in pairs], cols=cols,
        colours=[MISTAKE_COLOUR if t != p else "#2ca02c" for t, p in pairs],
        framed=[index for index, (t, p) in enumerate(pairs) if t != p], frame_colour=MISTAKE_COLOUR)
