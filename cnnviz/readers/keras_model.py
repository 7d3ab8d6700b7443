"""A Keras model a user uploads on the Draw page: checked, loaded safely, read layer by layer.

The bytes are untrusted. `check_archive` reads only the zip directory and config.json: it refuses
an empty or too large file, an HDF5 (.h5) file renamed .keras, anything that is not a zip or is
truncated, archives that would unpack to too much or hold too many files (zip bombs), and models
that need custom objects or hold a Lambda layer (Python code). `load` then runs
`keras.saving.load_model(..., safe_mode=True)` on a small pool of loader threads, with a time
limit and a bound on the loads waiting, so a class uploading at once cannot tie up the server.
The model must take one 28x28 grayscale image: input (28, 28), (28, 28, 1) or (784,), fed with
values in [0, 1] (ink 1, paper 0) like cnnviz's own models.

An `UploadedModel` is a Draw page reader (cnnviz.readers.Reader): `read` gives the output and
every layer's output for one digit (a functional model over all layers); `saliency` the gradient
of the top class's score by tf.GradientTape. Keras and TensorFlow
are imported inside the functions, never when this module is imported. Nothing is written to
runs/: the upload lives in a temporary folder while Keras reads it.
"""

import gc
import io
import json
import tempfile
import threading
import weakref
import zipfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.readers import DIGITS, LayerOutput

MODEL_MAX_BYTES = 20 * 2**20  # the uploader's limit, also checked here
MAX_UNPACKED_BYTES = 64 * 2**20  # Keras stores members uncompressed: a real model unpacks ~1:1
MAX_MEMBERS = 32  # metadata.json, config.json, model.weights.h5 and a few assets
LOAD_SECONDS = 90  # the first load also imports TensorFlow, which busy cores slow down a lot
LOADING_THREADS = 2  # loads at once (the server has 2 cores)
MAX_WAITING = 8  # loads running or queued; more are refused with "try again"
MAX_HELD = 16  # uploaded models alive in the server's sessions at once (a class of 60 shares it)
INPUT_SHAPES = ((28, 28), (28, 28, 1), (784,))
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
INTERNAL_CLASSES = {"__keras_tensor__", "__lambda__", "__tensor__", "__numpy__", "__bytes__",
                    "__typespec__", "__ellipsis__", "__slice__"}  # Keras' own serialized types

_loader = ThreadPoolExecutor(LOADING_THREADS, thread_name_prefix="keras-upload")
_waiting = threading.BoundedSemaphore(MAX_WAITING)
_held: "weakref.WeakSet[UploadedModel]" = weakref.WeakSet()  # freed with the sessions holding them


class KerasModelError(ValueError):
    """An uploaded model that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class UploadedModel:
    """A loaded model, a functional model `probe` returning every layer's output, and facts for
    the page; a Draw page reader (cnnviz.readers.Reader). layers: (name, class name) in order;
    softmax_10: the output is a softmax over 10 classes (else it is shown as it is); output_note
    says what the output is otherwise."""

    model: object
    probe: object
    input_shape: tuple
    layers: tuple[tuple[str, str], ...]
    softmax_10: bool
    output_note: str
    parameters: int

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The ten digits when the output is a softmax over 10 classes, else None."""
        return DIGITS if self.softmax_10 else None

    @property
    def description(self) -> str:
        return f"{len(self.layers)} layers, {self.parameters:,} parameters"

    def read(self, digit: np.ndarray) -> tuple[np.ndarray, list[LayerOutput]]:
        """(output values (k,), every layer's output) for digit (28, 28) in [0, 1], in inference
        mode (dropout off, batch norm with its moving averages)."""
        values = self.probe(model_input(self, digit), training=False)
        values = [np.asarray(value)[0] for value in values[:-1]]
        outputs = []
        for (name, kind), value in zip(self.layers, values):
            kernel = getattr(self.model.get_layer(name), "kernel", None)
            kernel = None if kernel is None else np.asarray(kernel)
            fits = kernel is not None and kernel.ndim == 4 and value.ndim == 3 and \
                kernel.shape[3] == value.shape[2]
            outputs.append(LayerOutput(name, kind, value, kernel if fits else None))
        return values[-1].ravel(), outputs

    def saliency(self, digit: np.ndarray, unit: int) -> tuple[np.ndarray, str]:
        """(d score / d pixel (28, 28), what the score is) for output `unit`: its logit when the
        last layer is a softmax (of a Dense layer or a Softmax layer), else the output value."""
        import tensorflow as tf

        last = self.model.get_layer(self.layers[-1][0])
        kind, softmax = type(last).__name__, _activation_name(last) == "softmax"
        x = tf.constant(model_input(self, digit))
        with tf.GradientTape() as tape:
            tape.watch(x)
            *_, output, last_input = self.probe(x, training=False)
            if softmax and kind in ("Softmax", "Activation"):  # its input is the logits
                scores, what = last_input, "its logit, before softmax"
            elif softmax and kind == "Dense":
                scores = tf.matmul(last_input, last.kernel)
                scores = scores + last.bias if last.use_bias else scores
                what = "its logit, before softmax"
            else:
                scores, what = output, "the output value"
            score = tf.reshape(scores, (-1,))[unit]
        gradient = tape.gradient(score, x)
        return np.asarray(gradient).reshape(28, 28), what


def check_archive(data: bytes) -> None:
    """Refuse, before Keras reads anything, a file that is not a plain .keras archive."""
    if not data:
        raise KerasModelError(
            "The file is empty; upload a model saved with model.save('name.keras').")
    if len(data) > MODEL_MAX_BYTES:
        raise KerasModelError(f"The file is {len(data) / 2**20:.1f} MB; the limit is "
                              f"{MODEL_MAX_BYTES // 2**20} MB.")
    if data.startswith(HDF5_SIGNATURE):
        raise KerasModelError(
            "This is not a .keras archive but an HDF5 (.h5) file renamed .keras. Save it in the "
            "Keras 3 format: keras.models.load_model('model.h5').save('model.keras').")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        if data.startswith(ZIP_SIGNATURE):
            raise KerasModelError("The .keras archive is truncated or corrupt (its end is "
                                  "missing); save or download it again.") from None
        raise KerasModelError("This is not a .keras archive (a .keras file is a zip archive "
                              "written by model.save('name.keras')).") from None
    with archive:
        members = archive.infolist()
        unpacked = sum(member.file_size for member in members)
        if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED_BYTES:
            raise KerasModelError(
                f"The archive holds {len(members)} files that would unpack to "
                f"{unpacked / 2**20:.0f} MB (limits: {MAX_MEMBERS} files, "
                f"{MAX_UNPACKED_BYTES // 2**20} MB); refused, as a zip bomb would be.")
        names = {member.filename for member in members}
        if "config.json" not in names or not names & {"model.weights.h5", "model.weights.npz"}:
            raise KerasModelError("This zip file is not a .keras archive: config.json or the "
                                  "weights (model.weights.h5) are missing.")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, zipfile.BadZipFile, OSError) as error:
            raise KerasModelError(f"The archive's config.json cannot be read ({error}); save "
                                  "the model again.") from None
    _check_config(config)


def _check_config(config) -> None:
    """Refuse Lambda layers and classes or functions that are not Keras' own."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
            kind, module = node.get("class_name"), node.get("module")
            if not isinstance(kind, str) or kind in INTERNAL_CLASSES:
                continue
            name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) \
                else node.get("config")
            if kind == "Lambda":
                raise KerasModelError(
                    f"The model has a Lambda layer ({name!r}): its Python code is not loaded "
                    "(safe mode). Replace it by a built-in layer (Rescaling, Reshape, "
                    "Activation, ...) and save again.")
            if not isinstance(module, str) or not module.startswith("keras"):
                what = f"function {name!r}" if kind == "function" else f"class {kind!r}"
                raise KerasModelError(
                    f"The model needs custom objects: {what} is not part of Keras, and the "
                    "page loads only models made of Keras' built-in layers and functions.")


def load(data: bytes, *, timeout: float = LOAD_SECONDS) -> UploadedModel:
    """Check and load an uploaded .keras file off the calling thread, within `timeout` seconds.

    Raises KerasModelError saying what is wrong (file, model or a busy server).
    """
    check_archive(data)
    if len(_held) >= MAX_HELD:
        gc.collect()  # a Keras model is a web of cycles: an ended session's may still await it
    if len(_held) >= MAX_HELD:
        raise KerasModelError(f"{MAX_HELD} uploaded models are open in other sessions already; "
                              "try again in a few minutes.")
    if not _waiting.acquire(blocking=False):
        raise KerasModelError(f"The server is loading {MAX_WAITING} models already; try again "
                              "in a minute.")
    try:
        future = _loader.submit(_load, data)
    except BaseException:
        _waiting.release()
        raise
    future.add_done_callback(lambda _: _waiting.release())
    try:
        uploaded = future.result(timeout)
    except FutureTimeout:
        raise KerasModelError(f"Loading the model took longer than {timeout:.0f} s (the server "
                              "may be busy); try again.") from None
    _held.add(uploaded)
    return uploaded


def _load(data: bytes) -> UploadedModel:
    """Load, inspect and try out the model (a blank digit read and its saliency), so that a model
    the page cannot show is refused here, with a message, rather than failing later."""
    try:
        import keras
    except ImportError as error:
        raise KerasModelError(f"Keras is not installed on this server ({error}).") from error
    with tempfile.TemporaryDirectory(prefix="cnnviz-upload-") as folder:
        path = Path(folder) / "upload.keras"
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a bad file
            message = f"Keras could not load this model ({_first_line(error)})."
            raise KerasModelError(message) from error
    uploaded = inspect(model)
    try:
        outputs, _ = uploaded.read(np.zeros((28, 28), np.float32))
        uploaded.saliency(np.zeros((28, 28), np.float32), int(np.argmax(outputs)))
    except Exception as error:  # whatever the model's layers raise on a digit
        message = f"The model loaded but cannot read a digit ({_first_line(error)})."
        raise KerasModelError(message) from error
    return uploaded


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def inspect(model) -> UploadedModel:
    """Check that `model` reads one 28x28 grayscale image; build its probe over all layers."""
    import keras

    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise KerasModelError(
            f"The model has {len(inputs) or 'no defined'} input{'s' if len(inputs) != 1 else ''}"
            "; it must take one 28×28 grayscale image (build it on keras.Input((28, 28, 1))).")
    shape = tuple(inputs[0].shape[1:])
    if shape not in INPUT_SHAPES:
        raise KerasModelError(
            f"The model's input is {shape}, not a single 28×28 grayscale image: it must be "
            "(28, 28), (28, 28, 1) or (784,).")
    if len(model.outputs) != 1:
        raise KerasModelError(f"The model has {len(model.outputs)} outputs; it must have one.")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    last = layers[-1]
    try:
        probe = keras.Model(inputs[0], [layer.output for layer in layers] + [last.input])
    except (ValueError, AttributeError) as error:  # e.g. a layer used twice has no one output
        raise KerasModelError(f"The model's layers cannot be read one by one ({_first_line(error)})"
                              "; use each layer once.") from None
    units = int(np.prod(model.outputs[0].shape[1:]))
    activation = _activation_name(last)
    softmax_10 = activation == "softmax" and units == 10
    note = "" if softmax_10 else (
        f"The last layer ({last.name}, {type(last).__name__}) is not a softmax over 10 classes "
        f"(activation {activation or 'none'}, {units} outputs): its outputs are shown as they "
        "are, not as digit probabilities.")
    return UploadedModel(model, probe, shape, tuple((layer.name, type(layer).__name__)
                                                    for layer in layers),
                         softmax_10, note, int(model.count_params()))


def _activation_name(layer) -> str | None:
    """"softmax", "relu", ... of a layer's activation (a Softmax layer counts), or None."""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or (activation if isinstance(activation, str)
                                                      else None)
    return None if name in (None, "linear") else name


def model_input(uploaded: UploadedModel, digit: np.ndarray) -> np.ndarray:
    """digit (28, 28) in [0, 1] as the model's batch of one: (1, *input_shape) float32."""
    return np.asarray(digit, dtype=np.float32).reshape((1, *uploaded.input_shape))
