"""LeNet-5 in NumPy on cnnviz.ops: forward with named activations, backward down to dL/dX, Adam.

Architecture (NHWC): X (m, 28, 28, 1) -> conv 6@5x5 "same" + ReLU (m, 28, 28, 6) -> max pool 2x2/2
(m, 14, 14, 6) -> conv 16@5x5 "valid" + ReLU (m, 10, 10, 16) -> max pool 2x2/2 (m, 5, 5, 16) ->
flatten (m, 400), row-major like Keras Flatten -> dense 120 ReLU -> dense 84 ReLU -> dense 10
softmax.

Saved-model format (`save_params` / `load_params`): one NumPy `.npz` holding the ten float32
arrays of `init_params` under their names (conv1_W (5, 5, 1, 6), conv1_b (1, 1, 1, 6), conv2_W
(5, 5, 6, 16), conv2_b (1, 1, 1, 16), fc1_W (400, 120), fc1_b (120,), fc2_W (120, 84), fc2_b (84,),
out_W (84, 10), out_b (10,)) plus `meta`, a 0-d string array holding a JSON object whose "format"
is "cnnviz-lenet5" and "version" 1 (other keys are free: backend, dataset, accuracy, ...). The
NumPy and TF1 backends both save this format; `load_params` also reads a Keras LeNet-5 `.keras`
file.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cnnviz.nn.ops import conv_backward, conv_forward, pool_backward, pool_forward

FORMAT = "cnnviz-lenet5"
FORMAT_VERSION = 1
INPUT_SHAPE = (28, 28, 1)  # (h, w, c) of one image
POOL_KERNEL, POOL_STRIDE = (2, 2), (2, 2)  # max pooling; backward routes ties like TensorFlow


class Layer(NamedTuple):
    """One LeNet-5 layer with weights: parameters f"{name}_W" and f"{name}_b".

    kind "conv": `size` filters of kernel x kernel, stride 1, `padding`, then ReLU and max pooling;
    kind "dense": `size` units, then ReLU (softmax for the last layer).
    """

    name: str
    kind: str  # "conv" or "dense"
    size: int  # filters (conv) or units (dense)
    kernel: int = 0  # conv only
    padding: str = ""  # conv only: "same" or "valid"


LENET5 = (  # stated once: read here and by cnnviz.training's Keras and TF1 builders
    Layer("conv1", "conv", 6, kernel=5, padding="same"),
    Layer("conv2", "conv", 16, kernel=5, padding="valid"),
    Layer("fc1", "dense", 120),
    Layer("fc2", "dense", 84),
    Layer("out", "dense", 10),
)
CONV_LAYERS = tuple(layer for layer in LENET5 if layer.kind == "conv")
DENSE_LAYERS = tuple(layer for layer in LENET5 if layer.kind == "dense")[:-1]  # hidden, + ReLU
OUTPUT_LAYER = LENET5[-1]  # the logits, then softmax


def _param_shapes(layers, input_shape) -> dict[str, tuple]:
    """Every parameter's shape, walking the activations' shape (h, w, c) through layers."""
    (h, w, c), shapes = input_shape, {}
    for layer in layers:
        if layer.kind == "conv":
            shapes[f"{layer.name}_W"] = (layer.kernel, layer.kernel, c, layer.size)
            shapes[f"{layer.name}_b"] = (1, 1, 1, layer.size)
            if layer.padding == "valid":
                h, w = h - layer.kernel + 1, w - layer.kernel + 1
            h, w = (1 + (n - k) // s for n, k, s in zip((h, w), POOL_KERNEL, POOL_STRIDE))
        else:  # flattened row-major (h, w, c) like Keras Flatten
            shapes[f"{layer.name}_W"] = (h * w * c, layer.size)
            shapes[f"{layer.name}_b"] = (layer.size,)
            h = w = 1
        c = layer.size
    return shapes


PARAM_SHAPES = _param_shapes(LENET5, INPUT_SHAPE)  # conv1_W (5, 5, 1, 6), ..., out_b (10,)


class ModelFileError(ValueError):
    """A model file that is missing, corrupt or not a LeNet-5."""


def init_params(seed: int) -> dict[str, np.ndarray]:
    """He-normal weights (truncated at 2 sigma, like Keras' he_normal) and zero biases, float32."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in PARAM_SHAPES.items():
        if name.endswith("_b"):
            params[name] = np.zeros(shape, dtype=np.float32)
            continue
        fan_in = int(np.prod(shape[:-1]))
        stddev = np.sqrt(2.0 / fan_in) / 0.87962566103423978  # std of N(0,1) truncated at +-2
        draws = rng.standard_normal(shape)
        while np.any(outside := np.abs(draws) > 2):
            draws[outside] = rng.standard_normal(np.count_nonzero(outside))
        params[name] = (draws * stddev).astype(np.float32)
    return params


def _relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def forward(params: dict, X: np.ndarray) -> tuple[np.ndarray, dict]:
    """Class probabilities (m, 10) of X (m, 28, 28, 1) in [0, 1], and the cache of every activation.

    cache: "X", "conv1" (m, 28, 28, 6), "pool1" (m, 14, 14, 6), "conv2" (m, 10, 10, 16),
    "pool2" (m, 5, 5, 16), "fc1" (m, 120), "fc2" (m, 84), "logits" (m, 10), "probs" (m, 10).
    """
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"X must have shape (m, 28, 28, 1), got {X.shape}; use x[..., None] / 255")
    cache = {"X": X}
    A = X
    for index, layer in enumerate(CONV_LAYERS, start=1):
        W, b = params[f"{layer.name}_W"], params[f"{layer.name}_b"]
        A = cache[layer.name] = conv_forward(A, W, b, _relu, layer.padding)
        A = cache[f"pool{index}"] = pool_forward(A, POOL_KERNEL, POOL_STRIDE)
    A = A.reshape(A.shape[0], -1)  # (m, 400), row-major (h, w, c) like Keras Flatten
    for layer in DENSE_LAYERS:
        A = cache[layer.name] = _relu(A @ params[f"{layer.name}_W"] + params[f"{layer.name}_b"])
    out = OUTPUT_LAYER.name
    logits = cache["logits"] = A @ params[f"{out}_W"] + params[f"{out}_b"]
    cache["probs"] = softmax(logits)
    return cache["probs"], cache


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (m, k), shifted by the row maximum for stability."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits (m, k) against integer labels (m,), and dL/dlogits (m, k)."""
    m = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(m)
    loss = -float(log_probs[rows, labels].mean())
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    return loss, dlogits / m


def backward(params: dict, cache: dict, dlogits: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the loss, from dlogits (m, 10): one per parameter (same keys), plus "X" =
    dL/dX."""
    grads = {}
    flat = cache[f"pool{len(CONV_LAYERS)}"]  # (m, 5, 5, 16), flattened into the first dense layer
    A_prevs = [flat.reshape(len(flat), -1), *(cache[layer.name] for layer in DENSE_LAYERS)]
    dA = dlogits
    for layer, A_prev in reversed(list(zip((*DENSE_LAYERS, OUTPUT_LAYER), A_prevs))):
        dZ = dA if layer is OUTPUT_LAYER else dA * (cache[layer.name] > 0)
        grads[f"{layer.name}_W"], grads[f"{layer.name}_b"] = A_prev.T @ dZ, dZ.sum(axis=0)
        dA = dZ @ params[f"{layer.name}_W"].T
    dA = dA.reshape(flat.shape)
    for index, layer in reversed(list(enumerate(CONV_LAYERS, start=1))):
        name = layer.name
        dA = pool_backward(dA, cache[name], POOL_KERNEL, POOL_STRIDE, tie_break="first")
        dZ = dA * (cache[name] > 0)
        A_prev = cache["X"] if index == 1 else cache[f"pool{index - 1}"]
        dA, grads[f"{name}_W"], grads[f"{name}_b"] = conv_backward(
            dZ, A_prev, params[f"{name}_W"], params[f"{name}_b"], layer.padding
        )
    grads["X"] = dA
    return grads


def input_gradient(
    params: dict, X: np.ndarray, class_index, *, of: str = "probability"
) -> np.ndarray:
    """Saliency: d(probability or logit of class_index)/dX, shape (m, 28, 28, 1).

    class_index: one int for every example or an int array (m,); of: "probability" or "logit".
    """
    if of not in ("probability", "logit"):
        raise ValueError(f'of must be "probability" or "logit", got {of!r}')
    probs, cache = forward(params, X)
    target = np.zeros_like(probs)
    target[np.arange(len(probs)), np.broadcast_to(class_index, len(probs))] = 1
    if of == "logit":
        dlogits = target
    else:  # d p_k / d logits = p_k * (e_k - p)
        p_k = (probs * target).sum(axis=1, keepdims=True)
        dlogits = p_k * (target - probs)
    return backward(params, cache, dlogits)["X"]


def predict(params: dict, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (m, 10) of X (m, 28, 28, 1), computed batch by batch."""
    starts = range(0, len(X), batch_size)
    return np.concatenate([forward(params, X[i : i + batch_size])[0] for i in starts])


class Adam:
    """Adam as in tf.compat.v1.train.AdamOptimizer (defaults lr 0.001, 0.9, 0.999, eps 1e-8)."""

    def __init__(self, params: dict, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate, self.beta1, self.beta2 = learning_rate, beta1, beta2
        self.epsilon = epsilon
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}
        self.t = 0

    def step(self, params: dict, grads: dict) -> None:
        """Update every array of params in place from grads (same keys; extra keys ignored)."""
        self.t += 1
        lr_t = self.learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, value in params.items():
            g = grads[name]
            self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * g
            self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * g * g
            update = lr_t * self.m[name] / (np.sqrt(self.v[name]) + self.epsilon)
            value -= update.astype(value.dtype)


def train_step(
    params: dict, optimizer: Adam, X: np.ndarray, labels: np.ndarray
) -> tuple[float, float]:
    """One Adam step on the batch X (m, 28, 28, 1), labels (m,); returns (loss, accuracy) before
    it."""
    probs, cache = forward(params, X)
    loss, dlogits = softmax_cross_entropy(cache["logits"], labels)
    optimizer.step(params, backward(params, cache, dlogits))
    return loss, float((probs.argmax(axis=1) == labels).mean())


def save_params(path, params: dict, meta: dict) -> None:
    """Write params and meta to the .npz format described in the module docstring, atomically."""
    path = Path(path)
    _check_params(params, str(path))
    header = json.dumps({**meta, "format": FORMAT, "version": FORMAT_VERSION})
    arrays = {name: np.asarray(params[name], dtype=np.float32) for name in PARAM_SHAPES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, meta=np.array(header), **arrays)
        os.chmod(temp, 0o644)  # mkstemp makes 0600 files; a model is meant to be shared
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_params(path) -> tuple[dict[str, np.ndarray], dict]:
    """(params, meta) from a cnnviz .npz (NumPy or TF1 backend) or a Keras LeNet-5 .keras file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"model file {path} does not exist; train a model or pick another file"
        )
    if path.suffix == ".keras":
        return _load_keras(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"])) if "meta" in archive.files else {}
            params = {name: archive[name].astype(np.float32)
                      for name in archive.files if name != "meta"}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise ModelFileError(f"{path} is not a readable .npz model file ({error})") from error
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a {FORMAT} model file (meta.format missing)")
    _check_params(params, str(path))
    return params, meta


def _check_params(params: dict, source: str) -> None:
    for name, shape in PARAM_SHAPES.items():
        if name not in params:
            raise ModelFileError(f"{source} is not a LeNet-5: parameter {name} is missing")
        if np.shape(params[name]) != shape:
            raise ModelFileError(
                f"{source} is not a LeNet-5: {name} has shape {np.shape(params[name])}, "
                f"expected {shape}"
            )


def _load_keras(path: Path) -> tuple[dict, dict]:
    """Map a Keras LeNet-5 (conv, conv, dense, dense, dense; weightless layers ignored) onto
    params."""
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ModelFileError(f"{path} could not be loaded as a Keras model ({error})") from error
    weighted = [layer for layer in model.layers if layer.weights]
    kinds = [type(layer).__name__ for layer in weighted]
    expected = [{"conv": "Conv2D", "dense": "Dense"}[spec.kind] for spec in LENET5]
    if kinds != expected:
        raise ModelFileError(
            f"{path} is not a LeNet-5: layers with weights are {kinds}, expected {expected}"
        )
    params = {}
    for layer, spec in zip(weighted, LENET5):
        kernel, bias = (np.asarray(w) for w in layer.get_weights())
        params[f"{spec.name}_W"] = kernel.astype(np.float32)
        bias_shape = PARAM_SHAPES[f"{spec.name}_b"]
        fits = bias.size == np.prod(bias_shape)
        params[f"{spec.name}_b"] = bias.reshape(bias_shape) if fits else bias
    paddings = [layer.padding for layer in weighted[: len(CONV_LAYERS)]]
    activations = [keras.activations.serialize(layer.activation) for layer in weighted]
    activations = [a if isinstance(a, str) else a.get("config", a) for a in activations]
    expected_paddings = [spec.padding for spec in CONV_LAYERS]
    expected_activations = ["relu"] * (len(LENET5) - 1) + ["softmax"]
    if paddings != expected_paddings or activations != expected_activations:
        raise ModelFileError(
            f"{path} is not a LeNet-5: conv paddings {paddings} and activations {activations}, "
            f"expected {expected_paddings} and {expected_activations}"
        )
    _check_params(params, str(path))
    return {name: value.astype(np.float32) for name, value in params.items()}, {
        "format": "keras", "source": str(path)
    }
