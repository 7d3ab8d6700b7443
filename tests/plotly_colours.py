"""Plotly.js's named colour scales applied in NumPy, for the scrub component's canvas tests.

plotly.colors.PLOTLY_SCALES holds Plotly.js's named scales (its "RdBu" is not the colorbrewer
scale of plotly.colors.get_colorscale). A heatmap colours a value by the scale's stops spread
between zmin and zmax, linear between them, the end colours beyond, each channel rounded.
"""

import numpy as np
from plotly.colors import PLOTLY_SCALES, unlabel_rgb


def plotly_colours(values, name: str, zmin: float, zmax: float) -> np.ndarray:
    """(..., 3) integer RGB of `values` under Plotly.js's scale `name` from zmin to zmax."""
    stops = PLOTLY_SCALES[name]
    domain = np.array([p for p, _ in stops], dtype=float) * (zmax - zmin) + zmin
    rgb = np.array([unlabel_rgb(c) for _, c in stops], dtype=float)
    values = np.asarray(values, dtype=float)
    return np.stack([np.round(np.interp(values, domain, rgb[:, k])) for k in range(3)], axis=-1)
