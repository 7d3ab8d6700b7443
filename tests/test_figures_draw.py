"""Draw page figure builders: checked on their traces and layout."""

import numpy as np
import pytest

from cnnviz.data.preprocess import preprocess_steps
from cnnviz.figures import draw as draw_figures
from cnnviz.figures.draw import (
    block_means,
    dense_layers_figure,
    feature_maps_figure,
    outputs_figure,
    preprocess_steps_figure,
    probability_figure,
    saliency_figure,
    top_two,
)

RNG = np.random.default_rng(5)


def unsure_probs() -> np.ndarray:
    probs = np.full(10, 0.02)
    probs[3], probs[8] = 0.55, 0.29
    return probs


def test_top_two_gives_runner_up_only_when_unsure():
    assert top_two(unsure_probs()) == (3, 8)
    sure = np.full(10, 0.01)
    sure[4] = 0.91
    assert top_two(sure) == (4, None)


def test_preprocess_steps_figure_shows_every_stage():
    canvas = np.zeros((280, 280), dtype=np.uint8)
    canvas[40:200, 100:140] = 255  # a bar 40 px wide: its stroke is thinned
    steps = preprocess_steps(canvas)
    fig = preprocess_steps_figure(steps)
    stages = [steps.raw, steps.cropped, steps.thinned, steps.scaled, steps.centred]
    assert [trace.type for trace in fig.data] == ["heatmap"] * 5
    raw = fig.data[0]  # 280 px a side, drawn as the means of 4x4 blocks
    assert np.shape(raw.z) == (70, 70) and raw.x[1] == raw.y[1] == 4
    np.testing.assert_allclose(raw.z, steps.raw.reshape(70, 4, 70, 4).mean(axis=(1, 3)))
    for trace, stage in zip(fig.data[3:], stages[3:]):  # 28 px or less: every pixel
        np.testing.assert_allclose(trace.z, stage)
        assert list(trace.x) == list(range(stage.shape[1]))
    titles = [annotation.text for annotation in fig.layout.annotations]
    assert "280×280" in titles[0] and "160×40" in titles[1] and "20×" in titles[3]
    assert f"strokes −{steps.thinned_by} px" in titles[2] and steps.thinned_by > 0
    assert fig.layout.yaxis.autorange == "reversed"


def test_block_means_average_square_blocks_and_partial_edges():
    image = np.arange(35, dtype=np.float64).reshape(5, 7)
    means, rows, cols = block_means(image, 4)  # f = 2: blocks of 2x2, the last row and column half
    assert means.shape == (3, 4) and list(rows) == [0, 2, 4] and list(cols) == [0, 2, 4, 6]
    assert means[0, 0] == image[:2, :2].mean() and means[2, 3] == image[4, 6]
    assert means[2, 0] == image[4, :2].mean() and means[0, 3] == image[:2, 6].mean()
    same, rows, _ = block_means(image, 7)  # short enough: the image itself
    np.testing.assert_array_equal(same, image)
    assert list(rows) == list(range(5))


def test_probability_figure_colours_top_and_runner_up_when_unsure():
    fig = probability_figure(unsure_probs())
    (bars,) = fig.data
    np.testing.assert_allclose(bars.y, unsure_probs())
    assert list(bars.x) == [str(k) for k in range(10)]
    assert bars.marker.color[3] == draw_figures.TOP_COLOUR
    assert bars.marker.color[8] == draw_figures.RUNNER_UP_COLOUR
    assert bars.marker.color.count(draw_figures.OTHER_COLOUR) == 8


def test_probability_figure_has_no_runner_up_when_sure():
    probs = np.full(10, 0.005)
    probs[0] = 0.955
    colours = probability_figure(probs, [f"c{k}" for k in range(10)]).data[0].marker.color
    assert colours[0] == draw_figures.TOP_COLOUR
    assert draw_figures.RUNNER_UP_COLOUR not in colours


def test_feature_maps_figure_puts_each_kernel_beside_its_map():
    maps = RNG.random((10, 10, 16))
    W = RNG.standard_normal((5, 5, 6, 16))
    fig = feature_maps_figure(maps, W, layer="conv2", columns=4)
    assert len(fig.data) == 32
    kernel_traces, map_traces = fig.data[0::2], fig.data[1::2]
    for k in range(16):
        np.testing.assert_allclose(map_traces[k].z, maps[..., k])
        tile = np.asarray(kernel_traces[k].z, dtype=np.float64)
        assert tile.shape == (11, 17)  # 6 slices of 5x5 on a 2x3 grid with 1-pixel gaps
        np.testing.assert_allclose(tile[6:11, 12:17], W[..., 5, k])
        assert np.isnan(tile[5]).all()
    assert map_traces[0].xaxis == "x2" and kernel_traces[0].xaxis == "x"
    assert kernel_traces[0].zmin == -np.abs(W).max() and map_traces[0].zmax == maps.max()


def test_feature_maps_figure_without_kernels_shows_maps_only():
    maps = RNG.random((14, 14, 6))
    fig = feature_maps_figure(maps, None, layer="pool1", columns=6)
    assert len(fig.data) == 6
    assert [a.text for a in fig.layout.annotations] == [f"pool1 {k}" for k in range(1, 7)]


def test_feature_maps_figure_scale_reaches_negative_values():
    maps = RNG.standard_normal((6, 6, 3))  # e.g. after batch norm, before the ReLU
    fig = feature_maps_figure(maps, None, layer="bn")
    assert fig.data[0].zmin == maps.min() and fig.data[0].zmax == maps.max()
    relu = feature_maps_figure(np.maximum(maps, 0), None, layer="relu")
    assert relu.data[0].zmin == 0


def test_outputs_figure_shows_raw_values_with_the_largest_coloured():
    values = np.array([0.5, -2.0, 3.0, 1.0])
    bars = outputs_figure(values).data[0]
    np.testing.assert_allclose(bars.y, values)
    assert bars.marker.color[2] == draw_figures.TOP_COLOUR
    assert bars.marker.color.count(draw_figures.TOP_COLOUR) == 1


@pytest.mark.parametrize(
    "maps, kernels",
    [(np.zeros((1, 10, 10, 6)), None), (np.zeros((10, 10, 6)), np.zeros((5, 5, 1, 4)))],
)
def test_feature_maps_figure_rejects_mismatched_shapes(maps, kernels):
    with pytest.raises(ValueError, match="must have shape"):
        feature_maps_figure(maps, kernels)


def test_dense_layers_figure_has_one_bar_chart_per_layer():
    layers = {"fc1": RNG.random(120), "fc2": RNG.random(84)}
    fig = dense_layers_figure(layers)
    assert [trace.type for trace in fig.data] == ["bar", "bar"]
    for trace, values in zip(fig.data, layers.values()):
        np.testing.assert_allclose(trace.y, values)
        assert len(trace.x) == len(values)
    assert [a.text for a in fig.layout.annotations][:2] == ["fc1", "fc2"]


def test_saliency_figure_overlays_symmetric_gradient_on_digit():
    digit, saliency = RNG.random((28, 28)), RNG.standard_normal((28, 28))
    fig = saliency_figure(digit, saliency, "7")
    base, overlay = fig.data
    np.testing.assert_allclose(base.z, digit)
    np.testing.assert_allclose(overlay.z, saliency)
    assert overlay.zmin == -overlay.zmax == -np.abs(saliency).max()
    assert overlay.showscale and not base.showscale
    assert "7" in fig.layout.title.text


def test_saliency_figure_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        saliency_figure(np.zeros((28, 28)), np.zeros((28, 27)), "1")


@pytest.mark.parametrize("channels, kernels, rows, columns", [
    (6, True, 2, 3),  # LeNet-5's conv1: 2 rows of 3 maps, each beside its kernel
    (6, False, 1, 6),
    (16, True, 4, 4),
    (16, False, 2, 8),
    (10, True, 3, 4),
])
def test_feature_maps_figure_fills_rows_evenly_by_default(channels, kernels, rows, columns):
    maps = RNG.random((5, 5, channels))
    W = RNG.standard_normal((3, 3, 1, channels)) if kernels else None
    fig = feature_maps_figure(maps, W)
    panels = [(a.x, a.y) for a in fig.layout.annotations]
    assert len({y for _, y in panels}) == rows
    assert len({x for x, _ in panels}) == columns * (2 if kernels else 1)
