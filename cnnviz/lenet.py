"""LeNet-5 in NumPy on cnnviz.ops: forward with named activations, backward down to dL/dX, Adam.

Architecture (NHWC): X (m, 28, 28, 1) -> conv 6@5x5 "same" + ReLU (m, 28, 28, 6) -> max pool 2x2/2
(m, 14, 14, 6) -> conv 16@5x5 "valid" + ReLU (m, 10, 10, 16) -> max pool 2x2/2 (m, 5, 5, 16) ->
flatten (m, 400), row-major like Keras Flatten -> dense 120 ReLU -> dense 84 ReLU -> dense 10 softmax.

Saved-model format (`save_params` / `load_params`): one NumPy `.npz` holding the ten float32 arrays
of `init_params` under their names (conv1_W (5, 5, 1, 6), conv1_b (1, 1, 1, 6), conv2_W (5, 5, 6, 16),
conv2_b (1, 1, 1, 16), fc1_W (400, 120), fc1_b (120,), fc2_W (120, 84), fc2_b (84,), out_W (84, 10),
out_b (10,)) plus `meta`, a 0-d string array holding a JSON object whose "format" is
"cnnviz-lenet5" and "version" 1 (other keys are free: backend, dataset, accuracy, ...). The NumPy and
TF1 backends both save this format; `load_params` also reads a Keras LeNet-5 `.keras` file.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cnnviz.ops import conv_backward, conv_forward, pool_backward, pool_forward

FORMAT = "cnnviz-lenet5"
FORMAT_VERSION = 1
PARAM_SHAPES = {
    "conv1_W": (5, 5, 1, 6),
    "conv1_b": (1, 1, 1, 6),
    "conv2_W": (5, 5, 6, 16),
    "conv2_b": (1, 1, 1, 16),
    "fc1_W": (400, 120),
    "fc1_b": (120,),
    "fc2_W": (120, 84),
    "fc2_b": (84,),
    "out_W": (84, 10),
    "out_b": (10,),
}
CONV_LAYERS = (("conv1", "same"), ("conv2", "valid"))  # (name, padding), each + ReLU + max pool
DENSE_LAYERS = ("fc1", "fc2")  # each + ReLU, then the "out" layer gives the logits
POOL_KERNEL, POOL_STRIDE = (2, 2), (2, 2)  # max pooling; backward routes ties like TensorFlow


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
    if X.ndim != 4 or X.shape[1:] != (28, 28, 1):
        raise ValueError(f"X must have shape (m, 28, 28, 1), got {X.shape}; use x[..., None] / 255")
    cache = {"X": X}
    A = X
    for index, (name, padding) in enumerate(CONV_LAYERS, start=1):
        A = cache[name] = conv_forward(A, params[f"{name}_W"], params[f"{name}_b"], _relu, padding)
        A = cache[f"pool{index}"] = pool_forward(A, POOL_KERNEL, POOL_STRIDE)
    A = A.reshape(A.shape[0], -1)  # (m, 400), row-major (h, w, c) like Keras Flatten
    for name in DENSE_LAYERS:
        A = cache[name] = _relu(A @ params[f"{name}_W"] + params[f"{name}_b"])
    logits = cache["logits"] = A @ params["out_W"] + params["out_b"]
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
    """Gradients of the loss, from dlogits (m, 10): one per parameter (same keys), plus "X" = dL/dX."""
    grads = {"out_W": cache["fc2"].T @ dlogits, "out_b": dlogits.sum(axis=0)}
    dA = dlogits @ params["out_W"].T
    inputs = {"fc1": cache["pool2"].reshape(dA.shape[0], -1), "fc2": cache["fc1"]}
    for name in reversed(DENSE_LAYERS):
        dZ = dA * (cache[name] > 0)
        grads[f"{name}_W"], grads[f"{name}_b"] = inputs[name].T @ dZ, dZ.sum(axis=0)
        dA = dZ @ params[f"{name}_W"].T
    dA = dA.reshape(cache["pool2"].shape)
    for index, (name, padding) in reversed(list(enumerate(CONV_LAYERS, start=1))):
        dA = pool_backward(dA, cache[name], POOL_KERNEL, POOL_STRIDE, tie_break="first")
        dZ = dA * (cache[name] > 0)
        A_prev = cache["X"] if index == 1 else cache[f"pool{index - 1}"]
        dA, grads[f"{name}_W"], grads[f"{name}_b"] = conv_backward(
            dZ, A_prev, params[f"{name}_W"], params[f"{name}_b"], padding
        )
    grads["X"] = dA
    return grads


def input_gradient(params: dict, X: np.ndarray, class_index, *, of: str = "probability") -> np.ndarray:
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
    return np.concatenate([forward(params, X[i : i + batch_size])[0] for i in range(0, len(X), batch_size)])


class Adam:
    """Adam as in tf.compat.v1.train.AdamOptimizer (defaults lr 0.001, 0.9, 0.999, eps 1e-8)."""

    def __init__(self, params: dict, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
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
            value -= (lr_t * self.m[name] / (np.sqrt(self.v[name]) + self.epsilon)).astype(value.dtype)


def train_step(params: dict, optimizer: Adam, X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """One Adam step on the batch X (m, 28, 28, 1), labels (m,); returns (loss, accuracy) before it."""
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
        raise ModelFileError(f"model file {path} does not exist; train a model or pick another file")
    if path.suffix == ".keras":
        return _load_keras(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"])) if "meta" in archive.files else {}
            params = {name: archive[name].astype(np.float32) for name in archive.files if name != "meta"}
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
                f"{source} is not a LeNet-5: {name} has shape {np.shape(params[name])}, expected {shape}"
            )


def _load_keras(path: Path) -> tuple[dict, dict]:
    """Map a Keras LeNet-5 (conv, conv, dense, dense, dense; weightless layers ignored) onto params."""
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ModelFileError(f"{path} could not be loaded as a Keras model ({error})") from error
    weighted = [layer for layer in model.layers if layer.weights]
    kinds = [type(layer).__name__ for layer in weighted]
    expected = ["Conv2D", "Conv2D", "Dense", "Dense", "Dense"]
    if kinds != expected:
        raise ModelFileError(
            f"{path} is not a LeNet-5: layers with weights are {kinds}, expected {expected}"
        )
    params = {}
    for layer, name in zip(weighted, ("conv1", "conv2", "fc1", "fc2", "out")):
        kernel, bias = (np.asarray(w) for w in layer.get_weights())
        params[f"{name}_W"] = kernel.astype(np.float32)
        bias_shape = PARAM_SHAPES[f"{name}_b"]
        params[f"{name}_b"] = bias.reshape(bias_shape) if bias.size == np.prod(bias_shape) else bias
    paddings = [layer.padding for layer in weighted[:2]]
    activations = [keras.activations.serialize(layer.activation) for layer in weighted]
    activations = [a if isinstance(a, str) else a.get("config", a) for a in activations]
    if paddings != ["same", "valid"] or activations != ["relu"] * 4 + ["softmax"]:
        raise ModelFileError(
            f"{path} is not a LeNet-5: conv paddings {paddings} and activations {activations}, "
            "expected same, valid and relu x4, softmax"
        )
    _check_params(params, str(path))
    return {name: value.astype(np.float32) for name, value in params.items()}, {
        "format": "keras", "source": str(path)
    }
