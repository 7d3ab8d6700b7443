"""Plotly figures, one module per part of the app: `explorer` (convolution, pooling, backprop),
`training` (curves, filters, confusion matrix), `draw` (a digit read layer by layer) and `check`
(a course solution's output against the expected one, for `cnnviz check --report`).

Every builder is pure: arrays or metric rows in, a `plotly.graph_objects.Figure` out.
"""

from cnnviz.figures import check, draw, explorer, training

__all__ = ["check", "draw", "explorer", "training"]
