"""The 2-3-1 network drawing of the Backpropagation page, on its traces."""

import pytest

from cnnviz.figures import dense as fd
from cnnviz.nn import dense


def test_network_figure_draws_every_weight_with_its_gradient_and_every_unit():
    X, Y_T, weights = dense.homework_example(20)
    values = dense.node_values(X, Y_T, weights, 4)
    figure = fd.network_figure(values, weights, "example 4")
    edges = [trace for trace in figure.data if trace.mode == "lines"]
    assert len(edges) == 3 * 2 + 3
    labels = figure.layout.annotations
    W1, dW1 = weights["W1"], values["gradients"]["W1"]
    assert len(labels) == 9
    assert labels[1].text == f"{W1[0, 1]:.3g} / {dW1[0, 1]:.2g}"  # W1[j=0, i=1]: x2 -> h1
    assert labels[1].hovertext == f"W1[0,1] = {W1[0, 1]:.6g}<br>dL/dW1[0,1] = {dW1[0, 1]:.6g}"
    W2 = weights["W2"]
    assert labels[8].text == f"{W2[2]:.3g} / {values['gradients']['W2'][2]:.2g}"
    assert edges[1].x == (0.0, 1.0) and edges[1].y == (-0.5, 1.0)
    assert edges[0].line.color == (fd.POSITIVE if W1[0, 0] >= 0 else fd.NEGATIVE)
    units = next(trace for trace in figure.data if trace.name == "units")
    assert len(units.x) == 2 + 3 + 1
    assert units.text[0] == f"x1 = {X[4, 0]:.3g}"
    assert f"y_t = {Y_T[4]:.3g}" in units.text[-1] and f"{values['dz2']:.2g}" in units.text[-1]
    assert units.hovertext[2].startswith(f"z1[0] = {values['z1'][0]:.6g}")
    assert figure.layout.title.text == "example 4"


def test_network_figure_edge_width_grows_with_the_weight():
    X, Y_T, weights = dense.homework_example(5)
    figure = fd.network_figure(dense.node_values(X, Y_T, weights), weights)
    widths = [trace.line.width for trace in figure.data if trace.mode == "lines"]
    magnitudes = [abs(w) for w in [*weights["W1"].ravel(), *weights["W2"]]]
    assert max(widths) == pytest.approx(6.0)
    assert widths.index(max(widths)) == magnitudes.index(max(magnitudes))
