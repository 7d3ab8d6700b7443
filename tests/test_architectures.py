"""cnnviz.networks.architectures, layer_specs and networks: counts by hand and against Keras;
errors."""

import math

import numpy as np
import pytest

from cnnviz.networks import architectures, presets
from cnnviz.networks.architectures import Network, analyze, layer_names
from cnnviz.networks.layer_specs import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNormalization,
    MaxPooling2D,
)
from cnnviz.nn import lenet

COURSE_TOTALS = {  # the course material's numbers (issue 14)
    "MLP 512-512 (lecture)": 669_706,
    "MLP 128-64 (homework)": 109_386,
    "CNN for MNIST (lecture)": 220_234,
    "LeNet-5 (course)": 61_706,
    "LeNet-5 (homework)": 61_706,
    "CNN for CIFAR-10 (lecture)": 528_054,
}
EVERY_NETWORK = {**presets.PRESETS, **presets.TRAINING_NETWORKS}


@pytest.mark.parametrize("title", list(COURSE_TOTALS))
def test_presets_have_the_course_totals(title):
    assert analyze(presets.PRESETS[title]).total_params == COURSE_TOTALS[title]


def test_preset_shapes_and_counts_by_hand():
    lenet = analyze(presets.LENET5)
    assert [row.output_shape for row in lenet.rows] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]
    assert [row.params for row in lenet.rows] == [
        (5 * 5 * 1 + 1) * 6, 0, (5 * 5 * 6 + 1) * 16, 0, 0, 401 * 120, 121 * 84, 85 * 10]
    cifar = analyze(presets.PRESETS["CNN for CIFAR-10 (lecture)"])
    assert cifar.rows[7].output_shape == (4 * 4 * 64,)  # three halvings of 32
    assert cifar.rows[8].params == (1024 + 1) * 500


def test_alexnets_parameters_by_hand():
    """Krizhevsky et al. (2012): on two GPUs, conv2, conv4 and conv5 see half the channels."""
    conv1 = (11 * 11 * 3 + 1) * 96
    conv3 = (3 * 3 * 256 + 1) * 384  # sees both GPUs' maps in both versions
    dense = (6 * 6 * 256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    two_gpus = [conv1, (5 * 5 * 48 + 1) * 256, conv3, (3 * 3 * 192 + 1) * 384,
                (3 * 3 * 192 + 1) * 256]
    one_tower = [conv1, (5 * 5 * 96 + 1) * 256, conv3, (3 * 3 * 384 + 1) * 384,
                 (3 * 3 * 384 + 1) * 256]
    assert sum(two_gpus) + dense == 60_965_224
    assert sum(one_tower) + dense == 62_378_344
    for title, convs in (("AlexNet (2012, two GPUs)", two_gpus),
                         ("AlexNet (one tower)", one_tower)):
        analysis = analyze(presets.PRESETS[title])
        assert [row.params for row in analysis.rows if isinstance(row.layer, Conv2D)] == convs
        assert analysis.total_params == sum(convs) + dense


def test_alexnet_shapes_fields_and_multiply_adds():
    rows = analyze(presets.PRESETS["AlexNet (2012, two GPUs)"]).rows
    assert [row.output_shape for row in rows[:11]] == [
        (55, 55, 96), (55, 55, 96), (27, 27, 96), (27, 27, 256), (27, 27, 256), (13, 13, 256),
        (13, 13, 384), (13, 13, 384), (13, 13, 256), (6, 6, 256), (9216,)]
    assert [row.name for row in rows[:3]] == ["conv1", "conv1_lrn", "pool1"]
    assert [(row.receptive_field, row.jump) for row in rows[:10]] == [  # r + (k - 1) j, j s
        (11, 4), (11, 4), (11 + 2 * 4, 8), (19 + 4 * 8, 8), (51, 8), (51 + 2 * 8, 16),
        (67 + 2 * 16, 16), (99 + 32, 16), (131 + 32, 16), (163 + 2 * 16, 32)]
    assert rows[1].params == rows[1].macs == 0  # local response normalization: no weights
    assert rows[3].macs == 27 * 27 * 256 * 5 * 5 * 48  # each kernel on its group's 48 channels
    one_tower = analyze(presets.PRESETS["AlexNet (one tower)"]).rows
    assert one_tower[3].macs == 2 * rows[3].macs


def test_grouped_conv_splits_weights_and_multiply_adds():
    rows = analyze(Network("g", (4, 4, 6), (Conv2D(4, 3, groups=2), Conv2D(6, 1, groups=2)))).rows
    assert [row.params for row in rows] == [(3 * 3 * 3 + 1) * 4, (1 * 1 * 2 + 1) * 6]
    assert [row.macs for row in rows] == [2 * 2 * 4 * 3 * 3 * 3, 2 * 2 * 6 * 2]
    assert rows[0].layer.describe() == "Conv2D 4 3x3 valid in 2 groups"


@pytest.mark.tf
@pytest.mark.parametrize("title", list(EVERY_NETWORK))
def test_every_network_matches_keras_layer_by_layer(title):
    network = EVERY_NETWORK[title]
    analysis, model = analyze(network), architectures.to_keras(network)
    assert model.count_params() == analysis.total_params
    layers = model.layers[1:]  # after the InputLayer
    assert type(model.layers[0]).__name__ == "InputLayer"
    assert [layer.name for layer in layers] == [row.name for row in analysis.rows]
    assert [type(layer).__name__ for layer in layers] == [
        architectures.layer_kind(row.layer) for row in analysis.rows]
    assert [tuple(layer.output.shape[1:]) for layer in layers] == [
        row.output_shape for row in analysis.rows]
    assert [layer.count_params() for layer in layers] == [row.params for row in analysis.rows]


@pytest.mark.tf
def test_alexnets_count_params_in_keras_and_normalize_as_tensorflow():
    import tensorflow as tf

    for title, total in (("AlexNet (2012, two GPUs)", 60_965_224), ("AlexNet (one tower)",
                                                                    62_378_344)):
        model = architectures.to_keras(presets.PRESETS[title])
        assert model.count_params() == total
    assert model.get_layer("conv4").kernel.shape == (3, 3, 384, 384)
    grouped = architectures.to_keras(presets.PRESETS["AlexNet (2012, two GPUs)"])
    assert grouped.get_layer("conv4").kernel.shape == (3, 3, 192, 384)  # half the channels each
    images = np.random.default_rng(0).normal(0, 30, (2, 5, 5, 7)).astype("float32")
    lrn = architectures.keras_layer_class("LocalResponseNormalization")
    for spec in (LocalResponseNormalization(), LocalResponseNormalization(1, 1.0, 0.01, 0.5)):
        _, kwargs = spec.keras_args()
        expected = tf.nn.local_response_normalization(
            images, depth_radius=spec.depth_radius, bias=spec.bias, alpha=spec.alpha,
            beta=spec.beta)
        np.testing.assert_allclose(lrn(**kwargs)(images), expected, rtol=1e-5)
        assert not np.allclose(expected, images)  # it did normalize


def test_training_lenets_follow_lenets_one_spec():
    for name in ("lenet5", "lenet5-dropout", "lenet5-batchnorm"):
        weighted = [row for row in analyze(presets.TRAINING_NETWORKS[name]).rows
                    if architectures.layer_kind(row.layer) in ("Conv2D", "Dense")]
        assert [row.name for row in weighted] == [layer.name for layer in lenet.LENET5]
        assert [row.params for row in weighted] == [
            int(np.prod(lenet.PARAM_SHAPES[f"{layer.name}_W"])) + layer.size
            for layer in lenet.LENET5]


@pytest.mark.tf
def test_to_keras_compiles_like_the_training_page():
    model = architectures.to_keras(presets.LENET5, 0.003, seed=1)
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.003)
    assert model.loss == "categorical_crossentropy"
    assert model.name == "lenet5"
    kernel = model.get_layer("fc1").kernel.numpy()
    assert kernel.std() == pytest.approx(math.sqrt(2 / 400), rel=0.1)  # he_normal
    logits = Network("logits", (28, 28, 1), (Flatten(), Dense(10)))
    assert architectures.to_keras(logits).loss.get_config()["from_logits"] is True


@pytest.mark.parametrize("layers, input_shape, expected", [
    ((Conv2D(1, 5),), (4, 4, 1), ("layer 1 (Conv2D): its kernel 5x5 is larger than its input's "
                                 "height 4")),
    ((Conv2D(6, 5, padding="same"), MaxPooling2D(2), Conv2D(16, 5), MaxPooling2D(2),
      Conv2D(120, 5), Conv2D(10, 3)), (28, 28, 1), "layer 6 (Conv2D): its kernel 3x3 is larger"),
    ((MaxPooling2D(3),), (28, 2, 1), ("layer 1 (MaxPooling2D): its pool window 3x3 is larger than "
                                     "its input's width 2")),
    ((Dense(10),), (28, 28, 1), ("layer 1 (Dense): its input is the image (28, 28, 1), not a "
                                "vector; put a Flatten before it")),
    ((Flatten(), Conv2D(4, 3)), (28, 28, 1), ("layer 2 (Conv2D): Conv2D needs an image (h, w, c), "
                                             "got the vector (784,)")),
    ((Flatten(), AveragePooling2D(2)), (28, 28, 1), ("layer 2 (AveragePooling2D): AveragePooling2D "
                                                    "needs an image")),
    ((Conv2D(0, 3),), (28, 28, 1), "layer 1 (Conv2D): filters must be a positive integer"),
    ((Conv2D(4, 3, padding="full"),), (28, 28, 1), "layer 1 (Conv2D): padding must be one of"),
    ((Flatten(), Dense(10, activation="swish")), (28, 28, 1), "layer 2 (Dense): activation must"),
    ((Flatten(), Dropout(1.0)), (28, 28, 1), "layer 2 (Dropout): rate must be a number in [0, 1)"),
    ((Conv2D(6, 3, groups=4),), (28, 28, 8), ("layer 1 (Conv2D): its 6 filters do not split into 4 "
                                              "groups; make filters a multiple of groups")),
    ((Conv2D(6, 3, groups=2),), (28, 28, 3), ("layer 1 (Conv2D): its input's 3 channels do not "
                                              "split into 2 groups; use groups that divide 3")),
    ((Conv2D(6, 3, groups=0),), (28, 28, 3), "layer 1 (Conv2D): groups must be a positive integer"),
    ((LocalResponseNormalization(depth_radius=-1),), (28, 28, 3), (
        "layer 1 (LocalResponseNormalization): depth_radius must be a non-negative integer")),
    ((LocalResponseNormalization(bias=0),), (28, 28, 3), "bias must be a number > 0, got 0"),
    ((), (28, 28, 1), "the network has no layers"),
    ((Flatten(),), (28, 28), "input_shape must be three positive integers"),
])
def test_invalid_networks_name_the_layer_and_why(layers, input_shape, expected):
    with pytest.raises(ValueError) as caught:
        analyze(Network("bad", input_shape, layers))
    assert expected in str(caught.value)


@pytest.mark.parametrize("layers, fields", [
    ((Conv2D(1, 3), Conv2D(1, 3)), [(3, 1), (5, 1)]),  # 3x3 of 3x3 windows one apart: 5x5
    ((Conv2D(1, 3, stride=2), Conv2D(1, 3)), [(3, 2), (3 + 2 * 2, 2)]),  # windows 2 apart: 7x7
    ((MaxPooling2D(2), Conv2D(1, 3)), [(2, 2), (2 + 2 * 2, 2)]),  # stride 1 keeps the jump
    ((Conv2D(1, 5, padding="same"), BatchNormalization(), Activation("relu"), Dropout(0.1)),
     [(5, 1)] * 4),  # padding and per-value layers change nothing
    ((Conv2D(1, 3), Flatten(), Dense(4), Dense(2)), [(3, 1), (3, None), (None, None),
                                                     (None, None)]),
])
def test_receptive_fields_by_hand(layers, fields):
    rows = analyze(Network("rf", (28, 28, 1), layers)).rows
    assert [(row.receptive_field, row.jump) for row in rows] == fields


def test_multiply_adds_by_hand():
    rows = analyze(Network("macs", (5, 5, 2), (
        Conv2D(3, 3), BatchNormalization(), MaxPooling2D(3), Flatten(), Dense(4),
        Activation("relu"),
    ))).rows
    # conv: 3 x 3 x 3 outputs, each 3 x 3 x 2 weights; bn: one per value; dense: 3 x 4
    assert [row.macs for row in rows] == [27 * 18, 27, 0, 0, 3 * 4, 0]
    assert [row.params for row in rows] == [(18 + 1) * 3, 4 * 3, 0, 0, 4 * 4, 0]
    lenet = analyze(presets.LENET5)
    assert lenet.total_macs == (28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84
                                + 84 * 10)


def test_same_padding_and_strides_follow_keras_formulas():
    rows = analyze(Network("s", (7, 8, 1), (Conv2D(2, 3, stride=2, padding="same"),
                                           MaxPooling2D(3, stride=1),
                                           AveragePooling2D(2, padding="same")))).rows
    assert [row.output_shape for row in rows] == [(4, 4, 2), (2, 2, 2), (1, 1, 2)]


def test_layer_names_follow_the_layer_they_modify():
    network = Network("n", (28, 28, 1), (BatchNormalization(), Conv2D(4, 3), Activation("tanh"),
                                         MaxPooling2D(), Dropout(0.2), Dropout(0.3), Flatten(),
                                         Dense(8), Dense(10), Activation("softmax")))
    assert layer_names(network) == ["input_bn", "conv1", "conv1_tanh", "pool1", "pool1_dropout",
                                    "pool1_dropout_2", "flatten", "fc1", "out", "out_softmax"]


def test_table_rows_round_trip_and_take_defaults():
    for network in EVERY_NETWORK.values():
        rows = [architectures.layer_fields(layer) for layer in network.layers]
        again = architectures.network_from_rows(network.name, network.input_shape, rows)
        assert again == network
    blank = dict.fromkeys(architectures.FIELDS)
    rows = [{**blank, "layer": "Conv2D", "units": 4.0, "kernel": 3},
            {**blank, "layer": "MaxPooling2D", "kernel": 2, "stride": float("nan")},
            blank, {**blank, "layer": "Dropout"}]
    network = architectures.network_from_rows("t", (28, 28, 1), rows)
    assert network.layers == (Conv2D(4, 3), MaxPooling2D(2), Dropout(0.5))


@pytest.mark.parametrize("row, expected", [
    ({"layer": "Dense"}, "layer 1 (Dense): units is missing; fill it in"),
    ({"layer": "Conv2D", "units": 4}, "layer 1 (Conv2D): kernel is missing"),
    ({"layer": "Conv2D", "units": 4, "kernel": 2.5}, ("layer 1 (Conv2D): kernel must be a whole "
                                                     "number, got 2.5")),
    ({"layer": None, "units": 4}, "layer 1: choose its type"),
])
def test_table_rows_with_missing_fields_name_the_row(row, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        architectures.network_from_rows("t", (28, 28, 1), [{**dict.fromkeys(
            architectures.FIELDS), **row}])


def test_ends_in_softmax():
    assert architectures.ends_in_softmax(presets.PRESETS["MLP 128-64 (homework)"])
    assert architectures.ends_in_softmax(Network("d", (2, 2, 1), (
        Flatten(), Dense(10, activation="softmax"), Dropout(0.1))))
    assert not architectures.ends_in_softmax(Network("l", (2, 2, 1), (Flatten(), Dense(10))))


def test_both_lenets_differ_only_where_a_conv_is_a_dense_layer():
    pairs = presets.same_count_two_ways()
    different = [pair for pair in pairs if pair.differs]
    assert len(different) == 1
    course, homework = different[0].course, different[0].homework
    assert (type(course.layer), type(homework.layer)) == (Dense, Conv2D)
    assert homework.input_shape == (5, 5, 16) and course.input_shape == (400,)
    assert course.params == homework.params and course.macs == homework.macs
    assert all(p.course.params == p.homework.params for p in pairs)
    assert sum(p.course.params for p in pairs) == analyze(presets.LENET5).total_params


def test_dense_vs_conv_grows_only_for_the_dense_layer():
    sides = [28, 1000]
    gray = presets.dense_vs_conv(sides)
    assert gray["dense"].tolist() == [(28 * 28 + 1) * 512, (1000 * 1000 + 1) * 512]
    assert gray["conv"].tolist() == [(9 + 1) * 32] * 2
    assert gray["dense"][0] == analyze(presets.PRESETS["MLP 512-512 (lecture)"]).rows[1].params
    assert gray["conv"][0] == analyze(presets.PRESETS["CNN for MNIST (lecture)"]).rows[0].params
    colour = presets.dense_vs_conv(sides, channels=3)
    assert colour["dense"][1] == (3 * 10**6 + 1) * 512 and colour["conv"][1] == (27 + 1) * 32
    with pytest.raises(ValueError, match="sides must be positive"):
        presets.dense_vs_conv([0, 28])
