"""Figure builders of the Architectures page, on their traces."""

import numpy as np

from cnnviz.figures import architectures as fa
from cnnviz.networks import architectures, presets


def test_params_per_layer_figure_one_trace_per_network_with_its_weighted_layers():
    titles = ["MLP 512-512 (lecture)", "LeNet-5 (course)"]
    analyses = {title: architectures.analyze(presets.PRESETS[title]) for title in titles}
    figure = fa.params_per_layer_figure(analyses)
    assert [trace.name for trace in figure.data] == [
        "MLP 512-512 (lecture): 669,706", "LeNet-5 (course): 61,706"]
    mlp, lenet = figure.data
    assert list(mlp.x) == [401_920, 262_656, 5_130]
    assert list(lenet.y[1]) == ["1. conv1", "3. conv2", "6. fc1", "7. fc2", "8. out"]
    assert set(lenet.y[0]) == {"LeNet-5 (course)"} and lenet.orientation == "h"
    assert figure.layout.xaxis.type == "log"
    assert fa.params_per_layer_figure(analyses, log=False).layout.xaxis.type == "linear"


def test_params_per_layer_figure_leaves_room_for_the_longest_count():
    alexnet = architectures.analyze(presets.PRESETS["AlexNet (2012, two GPUs)"])
    lenet = architectures.analyze(presets.LENET5)
    wide = fa.params_per_layer_figure({"AlexNet": alexnet, "LeNet-5": lenet}, log=False)
    narrow = fa.params_per_layer_figure({"LeNet-5": lenet})
    assert "37,752,832" in wide.data[0].text  # fc1, written past the end of the longest bar
    assert wide.layout.margin.r >= fa.MARGIN["r"] + len("37,752,832") * fa.DIGIT_PIXELS
    assert narrow.layout.margin.r < wide.layout.margin.r  # "48,120": a narrower margin


def test_dense_vs_conv_figure_draws_both_lines_and_marks_the_big_image():
    comparison = presets.dense_vs_conv([28, 100, 1000])
    figure = fa.dense_vs_conv_figure(comparison)
    dense, conv = figure.data
    assert list(dense.y) == comparison["dense"].tolist() and list(conv.y) == [320] * 3
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert f"{(1000 * 1000 + 1) * 512:,}" in texts and texts.count("320") == 2
    assert figure.layout.xaxis.type == figure.layout.yaxis.type == "log"


def test_runs_comparison_figure_puts_each_run_in_both_panels():
    runs = [{"label": "mlp", "params": 109_386, "test_accuracy": 0.97, "seconds": 20.0},
            {"label": "lenet5", "params": 61_706, "test_accuracy": 0.99, "seconds": 60.0}]
    figure = fa.runs_comparison_figure(runs)
    assert len(figure.data) == 4
    by_axis = {(trace.name, trace.xaxis): (trace.x[0], trace.y[0]) for trace in figure.data}
    assert by_axis[("lenet5", "x")] == (61_706, 0.99) and by_axis[("lenet5", "x2")] == (60.0, 0.99)
    assert [trace.showlegend for trace in figure.data] == [True, False, True, False]
    assert np.isclose(figure.layout.xaxis2.domain[0], 0.53)
    assert len(fa.runs_comparison_figure([]).data) == 0
