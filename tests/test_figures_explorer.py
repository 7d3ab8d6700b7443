"""cnnviz.figures: each builder's traces, shapes and frames."""

import numpy as np
import plotly.graph_objects as go
import pytest

from cnnviz.figures import explorer as figures


def rects(fig: go.Figure) -> list:
    return [shape for shape in fig.layout.shapes if shape.type == "rect"]


def test_input_figure_draws_padding_window_and_leftover():
    plane = np.arange(20.0).reshape(4, 5) / 20
    fig = figures.input_figure(plane, ((1, 2), (3, 0)), window=(-1, -3, 3, 3), leftover=(1, 0))
    heatmap = fig.data[0]
    assert np.asarray(heatmap.z).shape == (4 + 3, 5 + 3)
    assert list(heatmap.x) == list(range(-3, 5)) and list(heatmap.y) == list(range(-1, 6))
    assert np.asarray(heatmap.z)[1, 3] == 0 and np.asarray(heatmap.z)[1, 4] == pytest.approx(1 / 20)
    border, leftover, window = rects(fig)
    assert (border.x0, border.x1, border.y0, border.y1) == (-0.5, 4.5, -0.5, 3.5)
    assert leftover.fillcolor == figures.LEFTOVER_COLOR and (leftover.y0, leftover.y1) == (2.5, 3.5)
    assert (window.x0, window.y0, window.x1, window.y1) == (-3.5, -1.5, -0.5, 1.5)
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.title.text == "input"


def test_input_figure_without_padding_has_no_border_and_marks_winners():
    winners = np.array([[True, False], [False, True]])
    fig = figures.input_figure(np.zeros((4, 4)), window=(2, 1, 2, 2), winners=winners)
    assert len(rects(fig)) == 1
    dots = fig.data[1]
    assert list(dots.x) == [1, 2] and list(dots.y) == [2, 3]


def test_maps_figure_one_heatmap_per_map_with_symmetric_colours():
    maps = np.random.default_rng(0).standard_normal((6, 5, 3))
    fig = figures.maps_figure(maps, ["a", "b", "c"], highlight=(2, 4))
    assert len(fig.data) == 3 and all(isinstance(t, go.Heatmap) for t in fig.data)
    for k, trace in enumerate(fig.data):
        assert np.allclose(trace.z, maps[:, :, k]) and trace.zmin == -trace.zmax
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]
    assert [(s.xref, s.x0) for s in rects(fig)] == [("x", 3.5), ("x2", 3.5), ("x3", 3.5)]


def test_maps_figure_single_map_title_is_the_figure_title():
    fig = figures.maps_figure(np.ones((3, 3, 1)), ["only map"])
    assert fig.layout.title.text == "only map" and not fig.layout.annotations


def test_maps_figure_prints_values_only_on_small_maps():
    assert figures.maps_figure(np.ones((3, 3, 1)), ["k"]).data[0].texttemplate == "%{text}"
    assert figures.maps_figure(np.ones((28, 28, 1)), ["big"]).data[0].texttemplate is None


def test_maps_figure_refuses_wrong_number_of_titles():
    with pytest.raises(ValueError, match="titles must have one entry per map"):
        figures.maps_figure(np.ones((3, 3, 2)), ["only one"])


def test_kernels_and_step_figures_show_values():
    fig = figures.kernels_figure([np.eye(3), -np.eye(3)], ["a", "b"])
    assert len(fig.data) == 2 and list(fig.data[1].text[0]) == ["-1", "0", "0"]
    step = figures.step_figure(np.ones((2, 2)), np.full((2, 2), 2.0), np.full((2, 2), 2.0))
    assert [a.text for a in step.layout.annotations] == [
        "input window",
        "kernel",
        "window ⊙ kernel",
    ]



def test_loss_figure_is_a_log_scale_line():
    fig = figures.loss_figure([1.0, 0.1, 0.01])
    assert list(fig.data[0].y) == [1.0, 0.1, 0.01] and fig.layout.yaxis.type == "log"


def test_maps_figure_click_targets_cover_every_cell_of_each_map():
    maps = np.arange(24.0).reshape(3, 4, 2)
    fig = figures.maps_figure(maps, ["a", "b"], clickable=True)
    heat_a, click_a, heat_b, click_b = fig.data
    assert (
        heat_a.type == heat_b.type == "heatmap"
        and click_b.type == "scatter"
        and click_b.xaxis == "x2"
        and click_b.marker.opacity == 0
    )
    assert len(click_a.x) == 12 and (click_a.x[5], click_a.y[5]) == (1, 1)
    assert list(click_b.customdata[5]) == [maps[1, 1, 1], 1]  # (value, which map)


def test_figures_are_ready_for_plotly_js_as_they_are():
    """The figures skip plotly.py's validation: colour scales must be spelled out (Plotly.js knows
    no "gray" or "RdBu_r"), and axes keep fixed margins (automargin lays a chart out twice)."""
    rng = np.random.default_rng(0)
    built = [
        figures.maps_figure(rng.standard_normal((5, 6, 2)), ["a", "b"], clickable=True),
        figures.maps_figure(rng.random((5, 6, 1)), ["a"], diverging=False),
        figures.input_figure(rng.random((5, 6)), ((1, 1), (0, 2)), window=(0, 0, 2, 2)),
        figures.kernels_figure([rng.standard_normal((3, 3))], ["k"]),
    ]
    for figure in built:
        spec = figure.to_plotly_json()
        for trace in spec["data"]:
            if trace["type"] == "heatmap":
                assert all(len(stop) == 2 and 0 <= stop[0] <= 1 for stop in trace["colorscale"])
        axes = [value for name, value in spec["layout"].items() if name[1:5] == "axis"]
        assert axes and all(axis["automargin"] is False for axis in axes)
