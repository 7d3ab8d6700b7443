"""Networks as data: layers (cnnviz.networks.layer_specs) on an input shape, analysed without
TensorFlow.

    network = Network("lenet5", (28, 28, 1), (
        Conv2D(6, 5, padding="same", activation="relu"), MaxPooling2D(2), ...,
        Dense(10, activation="softmax")))
    analysis = analyze(network)  # rows: output shape, parameters, multiply-adds, receptive field
    model = to_keras(network)    # the same network as a compiled Keras model (TensorFlow lazily)

An invalid network raises ValueError naming the layer (1-based index and type) and why. Layer names
follow the training page's Keras models: conv1, pool1, flatten, fc1, ..., out (the last Dense),
and conv1_bn, conv1_lrn, conv1_relu, fc1_dropout for the layers that follow one. A network is also
a table (FIELDS per layer) for editing it on the Architectures page. Keras has no local response
normalization layer: KERAS_LRN_CODE is the one to_keras builds and exported scripts carry.
"""

import functools
import math
from dataclasses import dataclass

from cnnviz.networks.layer_specs import (
    LAYER_TYPES,
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNormalization,
    MaxPooling2D,
    layer_kind,
)


@dataclass(frozen=True)
class Network:
    """A name (a Python identifier: the Keras model's name), an input shape (h, w, c) and layers."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))


def layer_names(network: Network) -> list[str]:
    """Keras layer names: conv1, pool1, flatten, fc1, ..., out; conv1_bn, conv1_lrn, fc1_dropout,
    conv1_relu for a BatchNormalization, LocalResponseNormalization, Dropout or Activation after
    conv1."""
    prefixes = {"Conv2D": "conv", "MaxPooling2D": "pool", "AveragePooling2D": "pool",
                "Dense": "fc", "Flatten": "flatten"}
    suffixes = {"Dropout": lambda layer: "dropout", "BatchNormalization": lambda layer: "bn",
                "LocalResponseNormalization": lambda layer: "lrn",
                "Activation": lambda layer: layer.activation}
    kinds = [layer_kind(layer) for layer in network.layers]
    last_dense = max((i for i, kind in enumerate(kinds) if kind == "Dense"), default=None)
    counts, names, owner = {}, [], "input"
    for index, (layer, kind) in enumerate(zip(network.layers, kinds)):
        if kind in prefixes:
            counts[prefixes[kind]] = counts.get(prefixes[kind], 0) + 1
            number = counts[prefixes[kind]]
            if index == last_dense:
                name = "out"
            elif kind == "Flatten":
                name = "flatten" if number == 1 else f"flatten{number}"
            else:
                name = f"{prefixes[kind]}{number}"
            owner = name
        else:
            name = f"{owner}_{suffixes[kind](layer)}"
        while name in names:  # e.g. two Dropouts in a row
            name += "_2"
        names.append(name)
    return names


@dataclass(frozen=True)
class LayerRow:
    """One analysed layer. receptive_field: side of the square of input pixels one output value
    sees (None: the whole input; it may exceed the input, the rest being padding); jump: input
    pixels between neighbouring outputs (None once the grid is flattened)."""

    index: int  # 1-based, as in error messages
    name: str
    layer: object
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    receptive_field: int | None
    jump: int | None

    def as_dict(self) -> dict:
        """The row for a table: layer, name, output shape, params, MACs, receptive field."""
        field = "whole input" if self.receptive_field is None else (
            f"{self.receptive_field}x{self.receptive_field}")
        return {"#": self.index, "layer": self.layer.describe(), "name": self.name,
                "output shape": " x ".join(map(str, self.output_shape)), "parameters": self.params,
                "multiply-adds": self.macs, "receptive field": field,
                "jump": self.jump}


@dataclass(frozen=True)
class Analysis:
    network: Network
    rows: tuple[LayerRow, ...]

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape if self.rows else self.network.input_shape


def analyze(network: Network) -> Analysis:
    """Each layer's output shape, parameters, multiply-adds and receptive field; ValueError
    "layer i (Kind): why" at the first layer that cannot take its input."""
    shape = network.input_shape
    if len(shape) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1
                              for n in shape):
        raise ValueError(f"input_shape must be three positive integers (h, w, c), got {shape}")
    if not network.layers:
        raise ValueError("the network has no layers; add one")
    for index, layer in enumerate(network.layers, start=1):
        if layer_kind(layer) not in LAYER_TYPES:
            raise ValueError(f"layer {index} is a {layer_kind(layer)}; the layers are "
                             f"{', '.join(LAYER_TYPES)}")
    field, jump, rows = 1, 1, []
    for index, (layer, name) in enumerate(zip(network.layers, layer_names(network)), start=1):
        kind = layer_kind(layer)
        try:
            layer.check()
            out_shape = layer.output_shape(shape)
        except ValueError as error:
            raise ValueError(f"layer {index} ({kind}): {error}") from None
        if field is not None:
            field, jump = layer.receptive(field, jump)
        rows.append(LayerRow(index, name, layer, shape, out_shape, layer.params(shape),
                             layer.macs(shape, out_shape), field, jump))
        shape = out_shape
    return Analysis(network, tuple(rows))


def ends_in_softmax(network: Network) -> bool:
    """True when the last activation (Dropouts skipped) is a softmax: outputs are probabilities."""
    for layer in reversed(network.layers):
        if hasattr(layer, "activation"):
            return layer.activation == "softmax"
        if layer_kind(layer) != "Dropout":
            return False
    return False


# --- editing as a table ------------------------------------------------------------------------

FIELDS = ("layer", "units", "kernel", "stride", "padding", "groups", "activation",
          "rate")  # table columns
NEW_LAYERS = {  # a sensible layer of each type, to insert and then edit
    "Conv2D": Conv2D(8, 3, padding="same", activation="relu"),
    "MaxPooling2D": MaxPooling2D(2),
    "AveragePooling2D": AveragePooling2D(2),
    "Flatten": Flatten(),
    "Dense": Dense(64, activation="relu"),
    "Dropout": Dropout(0.5),
    "BatchNormalization": BatchNormalization(),
    "LocalResponseNormalization": LocalResponseNormalization(),
    "Activation": Activation("relu"),
}


def layer_fields(layer) -> dict:
    """The layer as a table row: FIELDS, None where a field does not apply. units is Conv2D's
    filters or Dense's units, kernel the kernel or pool size. LocalResponseNormalization's
    arguments are not columns: from the table it takes the paper's."""
    row = dict.fromkeys(FIELDS)
    row["layer"] = layer_kind(layer)
    row["units"] = getattr(layer, "filters", getattr(layer, "units", None))
    row["kernel"] = getattr(layer, "kernel", getattr(layer, "pool", None))
    row["stride"] = getattr(layer, "step", getattr(layer, "stride", None))
    for field in ("padding", "groups", "activation", "rate"):
        row[field] = getattr(layer, field, None)
    return row


def layer_from_fields(row: dict, index: int):
    """The layer of a table row (layer_fields' inverse); blank optional fields take the defaults.
    ValueError "layer i (Kind): ..." for a missing type or a missing filters/units/kernel."""
    kind = row.get("layer")
    if kind not in LAYER_TYPES:
        raise ValueError(f"layer {index}: choose its type ({', '.join(LAYER_TYPES)})")

    def number(field, cast=int, required=False):
        value = row.get(field)
        if not _filled(value):
            if required:
                raise ValueError(f"layer {index} ({kind}): {field} is missing; fill it in")
            return None
        if cast is int and float(value) != int(value):
            raise ValueError(f"layer {index} ({kind}): {field} must be a whole number, got {value}")
        return cast(value)

    def given(**kwargs):
        return {key: value for key, value in kwargs.items() if _filled(value)}

    if kind == "Conv2D":
        return Conv2D(number("units", required=True), number("kernel", required=True),
                      **given(stride=number("stride"), padding=row.get("padding"),
                              groups=number("groups"), activation=row.get("activation")))
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        pool, stride = number("kernel"), number("stride")
        return LAYER_TYPES[kind](**given(pool=pool, stride=None if stride == pool else stride,
                                         padding=row.get("padding")))
    if kind == "Dense":
        return Dense(number("units", required=True), **given(activation=row.get("activation")))
    if kind == "Dropout":
        return Dropout(**given(rate=number("rate", float)))
    if kind == "Activation":
        return Activation(**given(activation=row.get("activation")))
    return LAYER_TYPES[kind]()


def network_from_rows(name: str, input_shape, rows) -> Network:
    """A network from table rows (dicts with FIELDS); rows with every field blank are skipped."""
    rows = [row for row in rows if any(_filled(row.get(field)) for field in FIELDS)]
    return Network(name, tuple(input_shape),
                   tuple(layer_from_fields(row, index) for index, row in enumerate(rows, start=1)))


def _filled(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# --- Keras --------------------------------------------------------------------------------------


def keras_layers(network: Network) -> list[tuple[str, tuple, dict]]:
    """(Keras class name, positional args, keyword args with name) per layer; kernel layers also
    get kernel_initializer="he_normal", which to_keras and the exported code seed."""
    specs = []
    for layer, name in zip(network.layers, layer_names(network)):
        args, kwargs = layer.keras_args()
        if layer.has_kernel:
            kwargs["kernel_initializer"] = "he_normal"
        specs.append((layer_kind(layer), args, {**kwargs, "name": name}))
    return specs


KERAS_LRN_CODE = '''\
@keras.saving.register_keras_serializable("cnnviz")  # a saved model loads where this is defined
class LocalResponseNormalization(keras.layers.Layer):
    """Krizhevsky et al. (2012)'s local response normalization across channels (Keras has none):
    a / (bias + alpha * sum of a**2 over the 2 depth_radius + 1 nearest channels) ** beta."""

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, inputs):
        r, channels = self.depth_radius, inputs.shape[-1]
        squares = keras.ops.pad(keras.ops.square(inputs),
                                [(0, 0)] * (len(inputs.shape) - 1) + [(r, r)])
        window = sum(squares[..., i : i + channels] for i in range(2 * r + 1))
        return inputs / keras.ops.power(self.bias + self.alpha * window, self.beta)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius, "bias": self.bias,
                "alpha": self.alpha, "beta": self.beta}'''
CUSTOM_KERAS_LAYERS = {"LocalResponseNormalization": KERAS_LRN_CODE}  # kind -> its class's code


@functools.cache
def keras_layer_class(kind: str):
    """The Keras layer class of a layer kind: keras.layers' own, or ours from CUSTOM_KERAS_LAYERS
    (defined once per process, from the very code exported scripts carry)."""
    import keras

    if kind not in CUSTOM_KERAS_LAYERS:
        return getattr(keras.layers, kind)
    namespace = {"keras": keras}
    exec(CUSTOM_KERAS_LAYERS[kind], namespace)  # our own constant, not user input
    return namespace[kind]


def to_keras(network: Network, learning_rate: float = 0.001, *, seed: int = 0):
    """The network as a compiled Keras model, built the course's way (layers applied in turn to
    keras.Input(input_shape)): Adam(learning_rate), categorical cross-entropy (from logits unless it
    ends in a softmax), accuracy; HeNormal(seed) kernels, zero biases, every layer named as
    layer_names says. The training page's Keras models are built here."""
    import keras

    analyze(network)  # a clear ValueError before Keras' own
    inputs = outputs = keras.Input(network.input_shape)
    for kind, args, kwargs in keras_layers(network):
        if "kernel_initializer" in kwargs:
            kwargs["kernel_initializer"] = keras.initializers.HeNormal(seed=seed)
        outputs = keras_layer_class(kind)(*args, **kwargs)(outputs)
    model = keras.Model(inputs, outputs, name=network.name)
    loss = ("categorical_crossentropy" if ends_in_softmax(network)
            else keras.losses.CategoricalCrossentropy(from_logits=True))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    return model
