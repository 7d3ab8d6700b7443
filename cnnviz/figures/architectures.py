"""Plotly figures of the Architectures page: networks side by side, the "1,000 x 1,000 image"
argument, and finished training runs compared. Pure builders: analyses or numbers in, figures out.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from cnnviz.networks.architectures import Analysis

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10}
DIGIT_PIXELS = 8  # a digit or comma of Plotly's default 12 px font, rounded up


def params_per_layer_figure(analyses: Mapping[str, Analysis], *, log: bool = True) -> go.Figure:
    """Horizontal bars, one per layer with parameters, grouped by network (one colour and legend
    entry each, with its total), top to bottom in network order; log or linear x axis. The right
    margin holds the longest bar's count (AlexNet's 37,752,832), written past its end."""
    figure = go.Figure()
    for k, (title, analysis) in enumerate(analyses.items()):
        rows = [row for row in analysis.rows if row.params]
        figure.add_trace(go.Bar(
            x=[row.params for row in rows],
            y=[[title] * len(rows), [f"{row.index}. {row.name}" for row in rows]],
            orientation="h", name=f"{title}: {analysis.total_params:,}",
            marker_color=COLOURS[k % len(COLOURS)],
            customdata=[row.layer.describe() for row in rows],
            text=[f"{row.params:,}" for row in rows], textposition="outside", cliponaxis=False,
            hovertemplate="%{customdata}<br>%{x:,} parameters<extra>" + title + "</extra>",
        ))
    counts = [f"{row.params:,}" for analysis in analyses.values() for row in analysis.rows
              if row.params]
    n_bars, widest = len(counts), max(map(len, counts), default=0)
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(type="log" if log else "linear", title="parameters")
    figure.update_layout(title="Parameters per layer", height=140 + 24 * n_bars,
                         margin={**MARGIN, "r": MARGIN["r"] + DIGIT_PIXELS * widest},
                         legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1,
                                 "xanchor": "right"},
                         plot_bgcolor="white")
    return figure


def dense_vs_conv_figure(comparison: Mapping[str, np.ndarray], *, marks: Sequence[int] = (28, 1000),
                         dense_label: str = "Dense 512", conv_label: str = "Conv2D 32 3x3"
                         ) -> go.Figure:
    """First-layer parameters against the image side (networks.dense_vs_conv's arrays), log-log:
    the dense layer's line climbs with the image, the conv layer's stays flat; `marks` annotated."""
    side, dense, conv = comparison["side"], comparison["dense"], comparison["conv"]
    figure = go.Figure()
    for label, values, colour in ((dense_label, dense, COLOURS[1]), (conv_label, conv, COLOURS[0])):
        figure.add_trace(go.Scatter(
            x=side, y=values, mode="lines", name=label, line={"color": colour, "width": 3},
            hovertemplate="%{x} x %{x} image<br>%{y:,} parameters<extra>" + label + "</extra>"))
    for mark in marks:
        at = int(np.argmin(np.abs(side - mark)))
        for values, colour in ((dense, COLOURS[1]), (conv, COLOURS[0])):
            figure.add_annotation(x=np.log10(side[at]), y=np.log10(values[at]),
                                  text=f"{int(values[at]):,}", showarrow=True, arrowhead=2,
                                  ax=-40, ay=-25, font={"color": colour})
    figure.update_xaxes(type="log", title="image side (pixels)")
    figure.update_yaxes(type="log", title="parameters of the first layer")
    figure.update_layout(title="A bigger image: more weights for a dense layer, not a conv layer",
                         height=380, margin=MARGIN, legend={"x": 0.02, "y": 0.98},
                         plot_bgcolor="white")
    return figure


def runs_comparison_figure(runs: Sequence[Mapping]) -> go.Figure:
    """Finished runs as points: test accuracy against parameters (left, log) and against training
    seconds (right). Each run: {"label", "params", "test_accuracy", "seconds"}; one trace per run,
    in both panels, sharing its colour and legend entry."""
    figure = go.Figure()
    for k, run in enumerate(runs):
        colour = COLOURS[k % len(COLOURS)]
        for axis, x, unit in (("x", run["params"], "parameters"), ("x2", run["seconds"], "s")):
            figure.add_trace(go.Scatter(
                x=[x], y=[run["test_accuracy"]], xaxis=axis, yaxis="y", mode="markers",
                name=run["label"], legendgroup=run["label"], showlegend=axis == "x",
                marker={"size": 12, "color": colour},
                hovertemplate=f"{run['label']}<br>%{{x:,}} {unit}<br>"
                              "test accuracy %{y:.2%}<extra></extra>"))
    figure.update_layout(
        title="Finished runs: test accuracy against size and time", height=380, margin=MARGIN,
        xaxis={"domain": [0, 0.47], "type": "log", "title": "parameters"},
        xaxis2={"domain": [0.53, 1], "title": "training seconds", "anchor": "y"},
        yaxis={"title": "test accuracy", "tickformat": ".0%"}, plot_bgcolor="white")
    return figure
