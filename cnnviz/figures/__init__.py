"""Plotly figures, one module per part of the app: `explorer` (convolution, pooling, backprop),
`dense` (the homework's 2-3-1 network, backprop), `training` (curves, filters, confusion matrix),
`draw` (a digit read layer by layer), `architectures` (networks side by side, runs compared),
`data` (samples and class counts per split), `classroom` (a quick question's answers) and
`check` (a course solution's output against the
expected one, for `cnnviz check --report`).

Every builder is pure: arrays or metric rows in, a `plotly.graph_objects.Figure` out.
"""

from cnnviz.figures import architectures, check, classroom, data, dense, draw, explorer, training

__all__ = ["architectures", "check", "classroom", "data", "dense", "draw", "explorer", "training"]
