"""The layer types networks are made of, each named after its Keras layer, all with one protocol.

`check()` validates the layer's own arguments; about an input shape (h, w, c) or (n,):
`output_shape`, `params`, `macs` (multiply-adds per image: one per weight use in Conv2D and Dense,
one per value in BatchNormalization's scale-and-shift, none in pooling, activations, dropout,
flatten and local response normalization), `receptive(r, j)` (the square of input pixels one
output value sees, side r, and the jump j, the input pixels between neighbouring outputs:
r' = r + (k - 1) j, j' = j s), and `keras_args()` (the Keras layer's arguments that differ from its
defaults), and `describe()` for tables. `_Layer` holds the defaults (no weights, shape and field
passed through); each layer overrides what it changes. A shape a layer cannot take raises
ValueError saying why; cnnviz.networks.architectures adds which layer. LocalResponseNormalization
has no Keras layer: cnnviz.networks.architectures supplies one.
"""

import math
from dataclasses import dataclass, fields

PADDINGS = ("valid", "same")
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")  # Keras names; "linear" is none


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


def _spatial(shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"{what} needs an image (h, w, c), got the vector {shape}; move it before "
                         f"the Flatten")
    return shape


def _side(n: int, window: int, stride: int, padding: str, axis: str, what: str) -> int:
    """Output length along one axis: ceil(n / s) for "same", floor((n - k) / s) + 1 for "valid"."""
    if padding == "same":
        return math.ceil(n / stride)
    if window > n:
        raise ValueError(f"its {what} {window}x{window} is larger than its input's {axis} {n} "
                         f"(valid padding); use a smaller {what}, 'same' padding, or less pooling "
                         f"before it")
    return (n - window) // stride + 1


class _Layer:
    """The protocol's defaults: no arguments to check, no weights, no multiply-adds, no Keras
    arguments; the shape and the receptive field pass through unchanged."""

    has_kernel = False  # True: a kernel that gets he_normal weights in Keras

    @property
    def kind(self) -> str:
        return type(self).__name__

    def check(self) -> None: ...

    def output_shape(self, shape):
        return shape

    def params(self, shape) -> int:
        return 0

    def macs(self, shape, out_shape) -> int:
        return 0

    def receptive(self, field, jump):
        return field, jump

    def keras_args(self):
        return (), {}


@dataclass(frozen=True)
class Conv2D(_Layer):
    """filters kernels of kernel x kernel x c / groups; W (k, k, c / groups, filters),
    b (filters,). With groups g, the channels split into g groups and each group's filters / g
    kernels see only their group's c / g input channels (AlexNet's two GPUs: g = 2)."""

    filters: int
    kernel: int
    stride: int = 1
    padding: str = "valid"
    activation: str = "linear"
    groups: int = 1
    has_kernel = True

    def check(self) -> None:
        _positive_int("filters", self.filters)
        _positive_int("kernel", self.kernel)
        _positive_int("stride", self.stride)
        _choice("padding", self.padding, PADDINGS)
        _choice("activation", self.activation, ACTIVATIONS)
        _positive_int("groups", self.groups)
        if self.filters % self.groups:
            raise ValueError(f"its {self.filters} filters do not split into {self.groups} groups; "
                             f"make filters a multiple of groups")

    def output_shape(self, shape):
        h, w, c = _spatial(shape, "Conv2D")
        if c % self.groups:
            raise ValueError(f"its input's {c} channels do not split into {self.groups} groups; "
                             f"use groups that divide {c}")
        return (_side(h, self.kernel, self.stride, self.padding, "height", "kernel"),
                _side(w, self.kernel, self.stride, self.padding, "width", "kernel"), self.filters)

    def params(self, shape) -> int:
        return (self.kernel * self.kernel * shape[2] // self.groups + 1) * self.filters

    def macs(self, shape, out_shape) -> int:
        return math.prod(out_shape) * self.kernel * self.kernel * shape[2] // self.groups

    def receptive(self, field, jump):
        return field + (self.kernel - 1) * jump, jump * self.stride

    def keras_args(self):
        return (self.filters, self.kernel), _changed(
            strides=(self.stride, 1), padding=(self.padding, "valid"),
            activation=(self.activation, "linear"), groups=(self.groups, 1))

    def describe(self) -> str:
        groups = "" if self.groups == 1 else f" in {self.groups} groups"
        return (f"Conv2D {self.filters} {self.kernel}x{self.kernel}{_stride_text(self.stride)} "
                f"{self.padding}{groups}{_activation_text(self.activation)}")


@dataclass(frozen=True)
class MaxPooling2D(_Layer):
    """The largest value of each pool x pool window, channel by channel; stride None = pool."""

    pool: int = 2
    stride: int | None = None
    padding: str = "valid"

    @property
    def step(self) -> int:
        return self.pool if self.stride is None else self.stride

    def check(self) -> None:
        _positive_int("pool size", self.pool)
        _positive_int("stride", self.step)
        _choice("padding", self.padding, PADDINGS)

    def output_shape(self, shape):
        h, w, c = _spatial(shape, self.kind)
        return (_side(h, self.pool, self.step, self.padding, "height", "pool window"),
                _side(w, self.pool, self.step, self.padding, "width", "pool window"), c)

    def receptive(self, field, jump):
        return field + (self.pool - 1) * jump, jump * self.step

    def keras_args(self):
        return (self.pool,), _changed(strides=(self.step, self.pool),
                                      padding=(self.padding, "valid"))

    def describe(self) -> str:
        return f"{self.kind} {self.pool}x{self.pool}{_stride_text(self.step, self.pool)}"


class AveragePooling2D(MaxPooling2D):
    """The mean of each pool x pool window, channel by channel (no weights: no parameters)."""


@dataclass(frozen=True)
class Flatten(_Layer):
    """(h, w, c) -> (h * w * c,), row by row like Keras."""

    def output_shape(self, shape):
        return (math.prod(shape),)

    def receptive(self, field, jump):
        return field, None  # each value still sees its pixel's field; the grid is gone

    def describe(self) -> str:
        return "Flatten"


@dataclass(frozen=True)
class Dense(_Layer):
    """units neurons, each on every input value; W (n, units), b (units,)."""

    units: int
    activation: str = "linear"
    has_kernel = True

    def check(self) -> None:
        _positive_int("units", self.units)
        _choice("activation", self.activation, ACTIVATIONS)

    def output_shape(self, shape):
        if len(shape) != 1:
            raise ValueError(f"its input is the image {shape}, not a vector; put a Flatten "
                             f"before it")
        return (self.units,)

    def params(self, shape) -> int:
        return (shape[0] + 1) * self.units

    def macs(self, shape, out_shape) -> int:
        return shape[0] * self.units

    def receptive(self, field, jump):
        return None, None  # every unit sees the whole input

    def keras_args(self):
        return (self.units,), _changed(activation=(self.activation, "linear"))

    def describe(self) -> str:
        return f"Dense {self.units}{_activation_text(self.activation)}"


@dataclass(frozen=True)
class Dropout(_Layer):
    """Zeroes a fraction `rate` of the values while training (and scales the rest by 1/(1-rate))."""

    rate: float = 0.5

    def check(self) -> None:
        if isinstance(self.rate, bool) or not isinstance(self.rate, int | float) or not (
                0 <= self.rate < 1):
            raise ValueError(f"rate must be a number in [0, 1), got {self.rate!r}")

    def keras_args(self):
        return (self.rate,), {}

    def describe(self) -> str:
        return f"Dropout {self.rate:g}"


@dataclass(frozen=True)
class BatchNormalization(_Layer):
    """Per channel (last axis): gamma, beta, moving mean, moving variance: 4 c parameters, 2 c
    of them trained."""

    def params(self, shape) -> int:
        return 4 * shape[-1]

    def macs(self, shape, out_shape) -> int:
        return math.prod(shape)  # at inference: one scale-and-shift per value

    def describe(self) -> str:
        return "BatchNormalization"


@dataclass(frozen=True)
class LocalResponseNormalization(_Layer):
    """Krizhevsky et al. (2012), section 3.3: each value divided by (bias + alpha * the sum of the
    squares of the values at the same position in the 2 depth_radius + 1 nearest channels) ** beta;
    the paper's k = 2, n = 5 (depth_radius 2), alpha = 1e-4, beta = 0.75, which are the defaults
    (tf.nn.local_response_normalization's arguments). No weights, and no multiply-adds counted:
    its sums of squares use no weights, like an activation's arithmetic."""

    depth_radius: int = 2
    bias: float = 2.0
    alpha: float = 1e-4
    beta: float = 0.75

    def check(self) -> None:
        if isinstance(self.depth_radius, bool) or not isinstance(self.depth_radius, int) or (
                self.depth_radius < 0):
            raise ValueError(f"depth_radius must be a non-negative integer, got "
                             f"{self.depth_radius!r}")
        for name in ("bias", "alpha", "beta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")

    def keras_args(self):  # our Keras layer takes the same defaults (a TF test holds it to them)
        return (), _changed(**{field.name: (getattr(self, field.name), field.default)
                               for field in fields(self)})

    def describe(self) -> str:
        return (f"LocalResponseNormalization n={2 * self.depth_radius + 1} k={self.bias:g} "
                f"alpha={self.alpha:g} beta={self.beta:g}")


@dataclass(frozen=True)
class Activation(_Layer):
    """A function applied value by value: relu, sigmoid, tanh, softmax (over the last axis)."""

    activation: str = "relu"

    def check(self) -> None:
        _choice("activation", self.activation, ACTIVATIONS)

    def keras_args(self):
        return (self.activation,), {}

    def describe(self) -> str:
        return f"Activation {self.activation}"


LAYER_TYPES = {cls.__name__: cls for cls in (Conv2D, MaxPooling2D, AveragePooling2D, Flatten,
                                             Dense, Dropout, BatchNormalization,
                                             LocalResponseNormalization, Activation)}


def _changed(**pairs) -> dict:
    """Keyword arguments whose value differs from Keras' default: name=(value, default)."""
    return {name: value for name, (value, default) in pairs.items() if value != default}


def _stride_text(stride: int, default: int = 1) -> str:
    return "" if stride == default else f" /{stride}"


def _activation_text(activation: str) -> str:
    return "" if activation == "linear" else f" {activation}"


def layer_kind(layer) -> str:
    """The layer's Keras class name: "Conv2D", "MaxPooling2D", ..."""
    return type(layer).__name__
