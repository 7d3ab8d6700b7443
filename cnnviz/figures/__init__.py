"""Plotly figures, one module per part of the app: `explorer` (convolution, pooling, backprop),
`training` (curves, filters, confusion matrix) and `draw` (a digit read layer by layer).

Every builder is pure: arrays or metric rows in, a `plotly.graph_objects.Figure` out.
"""

from cnnviz.figures import draw, explorer, training

__all__ = ["draw", "explorer", "training"]
