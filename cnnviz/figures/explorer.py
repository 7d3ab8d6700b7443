"""Plotly figures of the explorer: pure functions, arrays in, `go.Figure` out.

Images are heatmaps drawn row 0 at the top, one square per pixel, values on hover. Coordinates are
the input's own: padding rows/columns have indices -1, -2, ... and h, h + 1, ...
"""

import numpy as np
import plotly.colors
import plotly.graph_objects as go

# Colour scales spelled out: Plotly.js knows neither "gray" nor a reversed "RdBu_r" by name, and
# the figures skip the validation that would resolve them.
GRAY = plotly.colors.get_colorscale("gray")
DIVERGING = plotly.colors.get_colorscale("RdBu_r")  # negative blue, zero white, positive red
HOVER = "row %{y}, col %{x}<br>%{z:.4g}<extra></extra>"
WINDOW_COLOR = "#ff7f0e"
WINNER_COLOR = "#2ca02c"
LEFTOVER_COLOR = "rgba(214, 39, 40, 0.35)"
PADDING_COLOR = "#1f77b4"  # dashed line: the image's border, zero padding outside
MAX_TEXT_CELLS = 64  # print values inside cells up to 8x8
PANEL_GAP = 0.04  # between side-by-side panels, as a fraction of the width
# Room for the tick labels, fixed: with automargin (Plotly.js 4's default) every chart is laid out
# twice, measuring its labels in between, which slows every redraw.
MARGIN = {"l": 30, "r": 10, "t": 40, "b": 28}


def _heatmap(z, *, x=None, y=None, diverging=False, text=False, zrange=None) -> dict:
    """A heatmap trace as a dict (the figure skips Plotly's per-property checks)."""
    z = np.asarray(z, dtype=np.float64)
    if zrange is None and diverging:
        bound = float(np.abs(z).max()) or 1.0
        zrange = (-bound, bound)
    trace = {
        "type": "heatmap",
        "z": z,
        "x": x,
        "y": y,
        "colorscale": DIVERGING if diverging else GRAY,
        "hovertemplate": HOVER,
        "showscale": False,
    }
    if zrange is not None:
        trace.update(zmin=zrange[0], zmax=zrange[1])
    if text:
        trace.update(
            text=np.vectorize(lambda v: f"{v + 0.0:.3g}")(z), texttemplate="%{text}", xgap=1, ygap=1
        )
    return trace


def _axis(k: int) -> str:
    """Axis suffix of panel k: "", "2", "3", ..."""
    return "" if k == 0 else str(k + 1)


def _panel_axes(k: int, left: float, width: float, ticks: dict) -> dict:
    """Layout axes of panel k: its x domain, row 0 at the top, square cells, no gridlines."""
    suffix = _axis(k)
    common = {"constrain": "domain", "showgrid": False, "automargin": False, **ticks}
    return {
        f"xaxis{suffix}": {"domain": [left, left + width], "anchor": f"y{suffix}", **common},
        f"yaxis{suffix}": {
            "anchor": f"x{suffix}",
            "scaleanchor": f"x{suffix}",
            "autorange": "reversed",
            "showticklabels": k == 0,
            **common,
        },
    }


def _panel_title(text: str, left: float, width: float) -> dict:
    """An annotation centred above a panel spanning [left, left + width] of the paper."""
    return {
        "text": text,
        "x": left + width / 2,
        "y": 1,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
    }


def _panels(panels: list[list[dict]], titles, *, title=None, shapes=()) -> go.Figure:
    """Side-by-side panels of traces, each with row 0 at the top, square cells and its title above
    (a single panel's title is the figure's).

    Built as one dict and not validated: make_subplots validates every update, and validating
    the figure took a large share of an explorer page's server time (BENCHMARKS.md, browser).
    """
    n = len(panels)
    width = (1 - PANEL_GAP * (n - 1)) / n
    map_shapes = [np.shape(t["z"]) for traces in panels for t in traces if t["type"] == "heatmap"]
    small = all(rows * columns <= MAX_TEXT_CELLS for rows, columns in map_shapes)
    ticks = {"dtick": 1} if small else {}  # kernels and windows: one tick per cell
    layout = {
        "margin": MARGIN,
        "plot_bgcolor": "white",
        "showlegend": False,
        "shapes": list(shapes),
        "annotations": [],
    }
    figure_title = title if title is not None or n > 1 else titles[0]
    if figure_title is not None:
        layout["title"] = {"text": figure_title}
    data = []
    for k, traces in enumerate(panels):
        suffix, left = _axis(k), k * (width + PANEL_GAP)
        layout.update(_panel_axes(k, left, width, ticks))
        if n > 1:
            layout["annotations"].append(_panel_title(titles[k], left, width))
        data += [{**trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"} for trace in traces]
    return go.Figure({"data": data, "layout": layout}, _validate=False)  # our own, known-good keys


def _box(
    top: float,
    left: float,
    height: float,
    width: float,
    color: str,
    *,
    dash=None,
    fill=None,
    xref="x",
    yref="y",
) -> dict:
    """A rectangle around cells [top, top + height) x [left, left + width)."""
    box = {
        "type": "rect",
        "x0": left - 0.5,
        "x1": left + width - 0.5,
        "y0": top - 0.5,
        "y1": top + height - 0.5,
        "line": {"color": color, "width": 3 if fill is None else 0},
        "xref": xref,
        "yref": yref,
    }
    if dash is not None:
        box["line"]["dash"] = dash
    if fill is not None:
        box["fillcolor"] = fill
    return box


def _padded_heatmap(plane: np.ndarray, pads, zrange=None) -> dict:
    """The plane (h, w) zero-padded, in input coordinates (padding at -1, ... and h, ...)."""
    (top, bottom), (left, right) = pads
    h, w = plane.shape
    return _heatmap(
        np.pad(plane, pads),
        x=np.arange(-left, w + right),
        y=np.arange(-top, h + bottom),
        zrange=zrange,
    )


def _border(hw, pads) -> list[dict]:
    """The image's border as a dashed box, when there is padding outside it to tell apart."""
    return [_box(0, 0, *hw, PADDING_COLOR, dash="dash")] if np.any(pads) else []


def _leftover_boxes(hw, pads, leftover) -> list[dict]:
    """Shaded strips over the bottom rows and right columns that no window visits."""
    (h, w), ((top, bottom), (left, right)) = hw, pads
    boxes = []
    if leftover[0]:
        strip = (h - leftover[0], -left, leftover[0], w + left + right)
        boxes.append(_box(*strip, LEFTOVER_COLOR, fill=LEFTOVER_COLOR))
    if leftover[1]:
        strip = (-top, w - leftover[1], h + top + bottom, leftover[1])
        boxes.append(_box(*strip, LEFTOVER_COLOR, fill=LEFTOVER_COLOR))
    return boxes


def _winner_dots(winners: np.ndarray, window) -> dict:
    """A dot on each True cell of winners (kh, kw), placed inside window (top, left, kh, kw)."""
    rows, cols = np.nonzero(winners)
    return {
        "type": "scatter",
        "x": cols + window[1],
        "y": rows + window[0],
        "mode": "markers",
        "marker": {"color": WINNER_COLOR, "size": 10},
        "hoverinfo": "skip",
    }


def input_figure(
    plane,
    pads=((0, 0), (0, 0)),
    *,
    title: str = "input",
    window=None,
    winners=None,
    leftover=(0, 0),
) -> go.Figure:
    """One input channel (h, w) with its zero padding around it (dashed line = the image's border).

    window: (top, left, kh, kw) in input coordinates, outlined; winners: (kh, kw) bool marked with a
    dot each; leftover: (rows, cols) at the bottom/right that no window visits, shaded red.
    """
    plane = np.asarray(plane, dtype=np.float64)
    zrange = (min(0.0, plane.min()), max(1.0, plane.max()))
    traces = [_padded_heatmap(plane, pads, zrange)]
    shapes = _border(plane.shape, pads) + _leftover_boxes(plane.shape, pads, leftover)
    if window is not None:
        shapes.append(_box(*window, WINDOW_COLOR))
        if winners is not None:
            traces.append(_winner_dots(winners, window))
    return _panels([traces], [title], shapes=shapes)


def _click_targets(map_2d: np.ndarray, k: int) -> dict:
    """Invisible markers on every cell of map k.

    Streamlit selects scatter points, not heatmap cells.

    Each point's customdata is (value, k), so a click tells the cell and the map.
    """
    rows, cols = np.indices(map_2d.shape)
    return {
        "type": "scatter",
        "x": cols.ravel(),
        "y": rows.ravel(),
        "mode": "markers",
        # Hover, click and selection read the data, not the drawing: drawing one invisible marker
        # instead of one per cell makes the chart's first draw much faster.
        "marker": {"symbol": "square", "size": 12, "opacity": 0, "maxdisplayed": 1},
        "customdata": np.stack([map_2d.ravel(), np.full(map_2d.size, k)], axis=-1),
        "hovertemplate": "row %{y}, col %{x}<br>%{customdata[0]:.4g}<extra></extra>",
    }


def maps_figure(
    maps,
    titles,
    *,
    diverging: bool = True,
    highlight=None,
    text: bool | None = None,
    zrange=None,
    clickable: bool = False,
) -> go.Figure:
    """Side-by-side maps (h, w, n), one heatmap per map.

    highlight (i, j) outlines that cell in each map.

    Colours: diverging around 0 (gradients, kernels) or gray over zrange (default (0, 1): images).
    clickable: add click targets (see `_click_targets`) for st.plotly_chart(on_select=...).
    """
    maps = np.asarray(maps, dtype=np.float64)
    n = maps.shape[2]
    if len(titles) != n:
        raise ValueError(f"titles must have one entry per map ({n}), got {len(titles)}")
    show_text = maps.shape[0] * maps.shape[1] <= MAX_TEXT_CELLS if text is None else text
    zrange = None if diverging else zrange or (0.0, 1.0)
    panels = [
        [_heatmap(maps[:, :, k], diverging=diverging, text=show_text, zrange=zrange)]
        + ([_click_targets(maps[:, :, k], k)] if clickable else [])
        for k in range(n)
    ]
    shapes = (
        []
        if highlight is None
        else [
            _box(
                highlight[0],
                highlight[1],
                1,
                1,
                WINDOW_COLOR,
                xref=f"x{_axis(k)}",
                yref=f"y{_axis(k)}",
            )
            for k in range(n)
        ]
    )
    return _panels(panels, titles, shapes=shapes)


def kernels_figure(kernels, titles) -> go.Figure:
    """2-D kernels (kh, kw) side by side with their values printed in the cells."""
    return maps_figure(np.stack(kernels, axis=-1), titles, diverging=True, text=True)


def step_figure(window, kernel, product) -> go.Figure:
    """The step-through's three grids (kh, kw): input window, kernel, their element-wise product."""
    return maps_figure(
        np.stack([window, kernel, product], axis=-1),
        ["input window", "kernel", "window ⊙ kernel"],
        diverging=True,
        text=True,
    )


def loss_figure(losses, title: str = "loss ½·mean (Z − T)²") -> go.Figure:
    """Loss per gradient-descent step (steps + 1,), log scale; built unvalidated like the maps."""
    losses = np.asarray(losses, dtype=np.float64)
    trace = {"type": "scatter", "x": np.arange(len(losses)), "y": losses, "mode": "lines",
             "name": "loss", "hovertemplate": "step %{x}<br>loss %{y:.3g}<extra></extra>"}
    layout = {"title": {"text": title}, "xaxis": {"title": {"text": "step"}},
              "yaxis": {"type": "log"}, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
              "height": 320}
    return go.Figure({"data": [trace], "layout": layout}, _validate=False)
