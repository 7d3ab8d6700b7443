"""The course's networks as cnnviz.networks.architectures networks, and the arguments they make.

PRESETS: the six networks of the lecture notes and the homework (669,706 / 109,386 / 220,234 /
61,706 / 61,706 / 528,054 parameters), and AlexNet as Krizhevsky et al. (2012) built it, on two
GPUs (60,965,224) and as one tower (62,378,344). TRAINING_MODELS: the Training page's models,
declared once (label, network, backends; cnnviz.training.MODELS is this dict), and
TRAINING_NETWORKS their networks by model name. `same_count_two_ways` shows why both LeNet-5s
have 61,706 parameters; `dense_vs_conv` is the "1,000 x 1,000 image" argument.
"""

from dataclasses import dataclass

import numpy as np

from cnnviz.networks.architectures import LayerRow, Network, analyze
from cnnviz.networks.layer_specs import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNormalization,
    MaxPooling2D,
    layer_kind,
)
from cnnviz.nn import lenet

MNIST_SHAPE = (28, 28, 1)
CIFAR10_SHAPE = (32, 32, 3)
IMAGENET_SHAPE = (227, 227, 3)  # AlexNet's crops: 224 in the paper, 227 for its 55 x 55 conv1
IMAGENET_CLASSES = 1000


def _lenet5(name: str, *, dropout: float = 0.0, batch_norm: bool = False) -> Network:
    """LeNet-5 as cnnviz.lenet.LENET5 states it (conv 6@5x5 same -> max pool 2 -> conv 16@5x5 valid
    -> max pool 2 -> flatten -> dense 120 -> dense 84 -> dense 10 softmax, ReLU everywhere else);
    optional dropout after the hidden dense layers, optional batch norm between each layer and its
    ReLU."""

    def hidden(layer_class, *args, **kwargs):
        if not batch_norm:
            return [layer_class(*args, activation="relu", **kwargs)]
        return [layer_class(*args, **kwargs), BatchNormalization(), Activation("relu")]

    (pool, _), (stride, _) = lenet.POOL_KERNEL, lenet.POOL_STRIDE
    pooling = MaxPooling2D(pool, None if stride == pool else stride)  # None: Keras' default stride
    layers = []
    for conv in lenet.CONV_LAYERS:
        layers += [*hidden(Conv2D, conv.size, conv.kernel, padding=conv.padding), pooling]
    layers.append(Flatten())
    for dense in lenet.DENSE_LAYERS:
        layers += hidden(Dense, dense.size) + ([Dropout(dropout)] if dropout else [])
    layers.append(Dense(lenet.OUTPUT_LAYER.size, activation="softmax"))
    return Network(name, lenet.INPUT_SHAPE, tuple(layers))


def _alexnet(name: str, groups: int) -> Network:
    """AlexNet (Krizhevsky, Sutskever, Hinton 2012, figure 2 and section 3): five ReLU convolutions
    (96 11x11 /4, 256 5x5, 384 3x3, 384 3x3, 256 3x3), local response normalization after the
    first two, overlapping max pooling (3x3 /2) after both normalizations and the fifth, then
    4096-4096-1000 dense layers with dropout 0.5 after the first two. groups=2: the two-GPU
    network, whose conv2, conv4 and conv5 see only their own GPU's half of the channels (conv3
    and the dense layers see both); groups=1: one tower, every kernel on every channel."""
    pool = MaxPooling2D(3, stride=2)
    return Network(name, IMAGENET_SHAPE, (
        Conv2D(96, 11, stride=4, activation="relu"), LocalResponseNormalization(), pool,
        Conv2D(256, 5, padding="same", groups=groups, activation="relu"),
        LocalResponseNormalization(), pool,
        Conv2D(384, 3, padding="same", activation="relu"),
        Conv2D(384, 3, padding="same", groups=groups, activation="relu"),
        Conv2D(256, 3, padding="same", groups=groups, activation="relu"), pool,
        Flatten(), Dense(4096, activation="relu"), Dropout(0.5),
        Dense(4096, activation="relu"), Dropout(0.5),
        Dense(IMAGENET_CLASSES, activation="softmax"),
    ))


LENET5 = _lenet5("lenet5")
LENET5_HOMEWORK = Network("lenet5_homework", MNIST_SHAPE, (  # ReLU assumed: the sheet lists none
    Conv2D(6, 5, padding="same", activation="relu"), MaxPooling2D(2),
    Conv2D(16, 5, activation="relu"), MaxPooling2D(2),
    Conv2D(120, 5, activation="relu"), Flatten(),
    Dense(84, activation="relu"), Dense(10, activation="softmax"),
))
PRESETS = {  # title -> network, as the course material defines them
    "MLP 512-512 (lecture)": Network("mlp_lecture", MNIST_SHAPE, (
        Flatten(), Dense(512, activation="relu"), Dense(512, activation="relu"),
        Dense(10, activation="softmax"),
    )),
    "MLP 128-64 (homework)": Network("mlp_homework", MNIST_SHAPE, (
        Flatten(), Dense(128), Activation("relu"), Dense(64), Activation("relu"), Dense(10),
        Activation("softmax"),
    )),
    "CNN for MNIST (lecture)": Network("cnn_mnist", MNIST_SHAPE, (
        Conv2D(32, 3, padding="same", activation="relu"), MaxPooling2D(2),
        Conv2D(64, 3, padding="same", activation="relu"), MaxPooling2D(2), Flatten(),
        Dense(64, activation="relu"), Dense(10, activation="softmax"),
    )),
    "LeNet-5 (course)": LENET5,
    "LeNet-5 (homework)": LENET5_HOMEWORK,
    "CNN for CIFAR-10 (lecture)": Network("cnn_cifar10", CIFAR10_SHAPE, (
        Conv2D(16, 2, padding="same", activation="relu"), MaxPooling2D(2),
        Conv2D(32, 2, padding="same", activation="relu"), MaxPooling2D(2),
        Conv2D(64, 2, padding="same", activation="relu"), MaxPooling2D(2), Dropout(0.3),
        Flatten(), Dense(500, activation="relu"), Dropout(0.4), Dense(10, activation="softmax"),
    )),
    "AlexNet (2012, two GPUs)": _alexnet("alexnet", groups=2),
    "AlexNet (one tower)": _alexnet("alexnet_one_tower", groups=1),
}
@dataclass(frozen=True)
class TrainingModel:
    """A model the Training page trains: its label, its network (what Keras builds), the backends
    that train it (cnnviz.training.BACKENDS' names: Keras trains every one, TF1 and NumPy LeNet-5
    only), and whether its weights have cnnviz.lenet's layout (then it starts from
    lenet.init_params and the Draw page reads it)."""

    label: str
    network: Network
    backends: tuple[str, ...] = ("keras",)
    lenet_layout: bool = False


TRAINING_MODELS = {  # the Training page's model name -> its model; cnnviz.training.MODELS
    "lenet5": TrainingModel("LeNet-5", LENET5, ("keras", "tf1", "numpy"), lenet_layout=True),
    "lenet5-dropout": TrainingModel("LeNet-5 + dropout 0.5",
                                    _lenet5("lenet5_dropout", dropout=0.5), lenet_layout=True),
    "lenet5-batchnorm": TrainingModel("LeNet-5 + batch norm",
                                      _lenet5("lenet5_batchnorm", batch_norm=True)),
    "mlp": TrainingModel("MLP 784-128-64-10 (homework)", PRESETS["MLP 128-64 (homework)"]),
    "mlp-lecture": TrainingModel("MLP 784-512-512-10 (lecture)", PRESETS["MLP 512-512 (lecture)"]),
    "cnn-mnist": TrainingModel("CNN 32-64 for MNIST (lecture)", PRESETS["CNN for MNIST (lecture)"]),
    "lenet5-homework": TrainingModel("LeNet-5 with conv 120 (homework)", LENET5_HOMEWORK),
}
TRAINING_NETWORKS = {name: model.network for name, model in TRAINING_MODELS.items()}


@dataclass(frozen=True)
class PairedLayer:
    """A layer with weights of the course's LeNet-5 beside the homework's at the same depth."""

    course: LayerRow
    homework: LayerRow

    @property
    def differs(self) -> bool:
        return layer_kind(self.course.layer) != layer_kind(self.homework.layer)


def same_count_two_ways() -> list[PairedLayer]:
    """The layers with weights of both LeNet-5s, depth by depth: they differ only at the third,
    where the homework's Conv 120 5x5 on the 5x5x16 maps is the course's Dense 120 on their 400
    flattened values: a kernel as large as its input fits once, so each of its 120 filters is one
    dense unit, (5 * 5 * 16 + 1) * 120 = (400 + 1) * 120 = 48,120 parameters either way."""
    weighted = [[row for row in analyze(network).rows if row.params]
                for network in (LENET5, LENET5_HOMEWORK)]
    return [PairedLayer(course, homework) for course, homework in zip(*weighted, strict=True)]


def dense_vs_conv(sides, *, channels: int = 1, units: int = 512, filters: int = 32,
                  kernel: int = 3) -> dict[str, np.ndarray]:
    """Parameters of a first layer on a side x side x channels image, as the side grows: a Dense of
    `units` on the flattened image ((side² c + 1) units: grows with the image) against a Conv2D of
    `filters` kernel x kernel kernels ((k² c + 1) filters: the same for every size).

    Returns {"side": (n,), "dense": (n,), "conv": (n,)} as int64 (a 1,000 x 1,000 image already
    gives the dense layer over half a billion parameters)."""
    side = np.asarray(sides, dtype=np.int64)
    if side.ndim != 1 or np.any(side < 1):
        raise ValueError(f"sides must be positive image sides, got {sides!r}")
    dense = (side * side * channels + 1) * units
    conv = np.full_like(side, (kernel * kernel * channels + 1) * filters)
    return {"side": side, "dense": dense, "conv": conv}
