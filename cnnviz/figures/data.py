"""Plotly figures of the datasets: images tiled with captions, and class counts per split."""

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

SPLIT_COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
GAP = 8  # pixels between tiles, room for a caption


def tiles_figure(images: np.ndarray, captions: Sequence[str], *, cols: int,
                 colours: Sequence[str] | None = None, framed: Sequence[int] = (),
                 frame_colour: str = "#d62728", title: str = "", height: int | None = None
                 ) -> go.Figure:
    """Images (n, h, w) uint8 tiled in one heatmap, cols per row, each with its caption above
    (in colours[i] if given); the images at the `framed` indices get a frame. height: pixels
    (default 100 a row, for a page-wide grid)."""
    images = np.asarray(images)
    n, (h, w) = len(images), images.shape[1:3]
    rows = max(1, -(-n // cols))
    canvas = np.full((rows * (h + GAP), cols * (w + GAP)), np.nan)
    figure = go.Figure()
    for index in range(n):
        top, left = (index // cols) * (h + GAP), (index % cols) * (w + GAP)
        canvas[top : top + h, left : left + w] = images[index]
        figure.add_annotation(x=left + (w - 1) / 2, y=top - 0.5, yanchor="bottom", showarrow=False,
                              text=captions[index], font={"size": 10, "color": (
                                  colours[index] if colours is not None else "#333")})
    for index in framed:
        top, left = (index // cols) * (h + GAP), (index % cols) * (w + GAP)
        figure.add_shape(type="rect", x0=left - 1, x1=left + w, y0=top - 1, y1=top + h,
                         line={"color": frame_colour, "width": 2})
    figure.add_trace(go.Heatmap(z=canvas, colorscale="gray_r", showscale=False, zmin=0, zmax=255,
                                hoverinfo="skip"))
    figure.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    figure.update_xaxes(visible=False)
    figure.update_layout(title=title, height=height or 100 * rows + (60 if title else 40),
                         margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
                         plot_bgcolor="white")
    return figure


def samples_figure(images: np.ndarray, labels, class_names: Sequence[str], title: str = "",
                   cols: int = 5) -> go.Figure:
    """Sample images (n, 28, 28), each captioned with its class name; sized for a third of a wide
    page."""
    rows = max(1, -(-len(images) // cols))
    return tiles_figure(images, [class_names[int(k)] for k in labels], cols=cols, title=title,
                        height=70 * rows + 40)


def class_counts_figure(counts: Mapping[str, np.ndarray], class_names: Sequence[str]) -> go.Figure:
    """Grouped bars: images per class, one trace per split; hover adds the class's share."""
    figure = go.Figure()
    for split, per_class in counts.items():
        per_class = np.asarray(per_class)
        share = per_class / max(int(per_class.sum()), 1)
        figure.add_trace(go.Bar(
            x=list(class_names), y=per_class, name=f"{split} ({int(per_class.sum()):,})",
            marker_color=SPLIT_COLOURS.get(split), customdata=share,
            hovertemplate="%{x}: %{y:,} images (%{customdata:.1%})<extra>" + split + "</extra>"))
    figure.update_xaxes(type="category")  # "0".."9" are names, not numbers
    figure.update_layout(title="Images per class", barmode="group", height=340,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, yaxis_title="images",
                         legend={"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"})
    return figure
