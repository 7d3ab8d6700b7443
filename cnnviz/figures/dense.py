"""The homework's 2-3-1 network drawn with its numbers (Backpropagation page): a pure builder.

Units are circles in three columns (inputs x1 x2, hidden h1 h2 h3, output y); each edge is a
weight, drawn blue for negative and red for positive, as thick as |w|, with w and dL/dw on it.
"""

import numpy as np
import plotly.graph_objects as go

COLUMNS = {"input": 0.0, "hidden": 1.0, "output": 2.0}
POSITIVE, NEGATIVE, NODE = "#d62728", "#1f77b4", "#f4f4f4"
LABEL_BACKGROUND = "rgba(255, 255, 255, 0.85)"
LABEL_AT = {"hidden": 0.72, "output": 0.5}  # where along an edge its label sits, by its end:
# the two edges into a hidden unit are apart near it, and cross near the inputs


def _unit_y(count: int) -> np.ndarray:
    """Heights of `count` units in a column, centred on 0, one apart."""
    return np.arange(count)[::-1] - (count - 1) / 2


def _unit_labels(unit: str, z: str, b: str, z_value, value, dz, b_value) -> tuple[str, str]:
    """(label, hover) of a sigmoid unit: its z, σ(z), dL/dz (= dL/db) and bias."""
    label = f"{unit} = σ({z_value:.3g}) = {value:.3g}<br>dL/dz = {dz:.2g}<br>b = {b_value:.3g}"
    hover = (f"{z} = {z_value:.6g}, {unit} = {value:.6g}<br>dL/d{z} = dL/d{b} = {dz:.6g}<br>"
             f"{b} = {b_value:.6g}")
    return label, hover


def network_figure(values: dict, weights: dict, title: str = "") -> go.Figure:
    """The network with its values and gradients.

    values: cnnviz.dense.node_values' dict (x (2,), z1, h, dz1 (3,), z2, y, y_t, dz2, gradients);
    weights: W1 (3, 2), b1 (3,), W2 (3,), b2. Edge labels "w / dL/dw" are annotations, in
    `edges` order (W1[j, i] for j, i, then W2[j]); unit labels show z, the activation and dL/dz
    (= dL/db) and the bias. Hover any unit or edge label for its numbers at full precision.
    """
    grads = values["gradients"]
    W1, W2 = np.asarray(weights["W1"]), np.asarray(weights["W2"])
    b1, b2 = np.ravel(weights["b1"]), float(np.ravel(weights["b2"])[0])
    x_y, h_y, out_y = _unit_y(2), _unit_y(3), _unit_y(1)
    largest = max(float(np.abs(W1).max()), float(np.abs(W2).max()), 1e-12)
    edges = [(("input", x_y[i]), ("hidden", h_y[j]), W1[j, i], grads["W1"][j, i], f"W1[{j},{i}]")
             for j in range(3) for i in range(2)]
    edges += [(("hidden", h_y[j]), ("output", out_y[0]), W2[j], grads["W2"][j], f"W2[{j}]")
              for j in range(3)]
    traces, annotations = [], []
    for (start, y0), (end, y1), w, dw, name in edges:
        x0, x1 = COLUMNS[start], COLUMNS[end]
        traces.append({"type": "scatter", "x": (x0, x1), "y": (float(y0), float(y1)),
                       "mode": "lines", "hoverinfo": "skip", "showlegend": False,
                       "line": {"color": POSITIVE if w >= 0 else NEGATIVE,
                                "width": 1 + 5 * abs(w) / largest}})
        along = LABEL_AT[end]
        annotations.append({"x": x0 + along * (x1 - x0), "y": y0 + along * (y1 - y0),
                            "text": f"{w:.3g} / {dw:.2g}", "showarrow": False,
                            "font": {"size": 11, "color": "#222"}, "bgcolor": LABEL_BACKGROUND,
                            "hovertext": f"{name} = {w:.6g}<br>dL/d{name} = {dw:.6g}"})
    units = [("input", x_y[i], f"x{i + 1} = {values['x'][i]:.3g}",
              f"input x{i + 1} = {values['x'][i]:.6g}") for i in range(2)]
    units += [("hidden", h_y[j], *_unit_labels(f"h{j + 1}", f"z1[{j}]", f"b1[{j}]", values["z1"][j],
                                               values["h"][j], values["dz1"][j], b1[j]))
              for j in range(3)]
    text, hover = _unit_labels("y", "z2", "b2", values["z2"], values["y"], values["dz2"], b2)
    units.append(("output", out_y[0], f"{text}<br>y_t = {values['y_t']:.3g}",
                  f"{hover}<br>y_t = {values['y_t']:.6g}<br>L = {values['L']:.6g}"))
    traces.append({
        "type": "scatter", "name": "units", "mode": "markers+text", "showlegend": False,
        "x": [COLUMNS[column] for column, *_ in units], "y": [float(y) for _, y, *_ in units],
        "text": [text for *_, text, _ in units], "textposition": "bottom center",
        "hovertext": [hover for *_, hover in units], "hoverinfo": "text",
        "marker": {"size": 44, "color": NODE, "line": {"color": "#444", "width": 2}}})
    layout = {"title": {"text": title}, "height": 460, "plot_bgcolor": "white",
              "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "annotations": annotations,
              "xaxis": {"visible": False, "range": [-0.35, 2.35]},
              "yaxis": {"visible": False, "range": [-1.9, 1.4]}}
    # built as dicts and not validated: validating each add_annotation call slows every rerun
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
