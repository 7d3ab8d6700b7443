"""Task 4's likely mistakes in words: the student's TensorFlow-1 LeNet-5 read against the course's.

Each check reads the two descriptions (tf1_child's JSON; layers as keras_task.layers folds them)
and says what is wrong and what to write instead. The layer checks task 5 shares (conv1's padding
and its parameter count, hidden activations, pooling strides) are keras_diagnose's; the rest are
the graph's own: the prediction (logits returned, softmax twice), Flatten, the kernels' initial
spread and the optimizer; beside.training_line speaks of the training when nothing else does.
`tf_layers_note` tells a file built on tf.layers what to use instead.
"""

import math

from cnnviz.check import keras_diagnose
from cnnviz.check.beside import training_line
from cnnviz.check.keras_task import layers
from cnnviz.check.tf1_task import ACCURACY_TOLERANCE, ADAM_KEYS, he_std, is_he

ADAM = "tf.compat.v1.train.AdamOptimizer().minimize(loss)"
HE_NORMAL = "tf.keras.initializers.VarianceScaling(scale=2.0)"
INSTEAD = ("tf.keras.layers (Conv2D, MaxPooling2D, Flatten, Dense, each called on the tensor "
           "before it: tf.keras.layers.Dense(120, activation='relu', kernel_initializer=init)"
           "(flat)) or tf.nn ops on tf.compat.v1.get_variable kernels; keep tf.compat.v1 for the "
           "loss (tf.compat.v1.losses.softmax_cross_entropy) and "
           "tf.compat.v1.train.AdamOptimizer")


def diagnose(expected: dict, got: dict, trained: dict, training: dict | None) -> list[str]:
    """Sentences for the student, one per known mistake found in `got` (tf1_child's description
    of their graph, `training` what it reached) against the course's `expected`, `trained`."""
    want, have = layers(expected), layers(got)
    params = got.get("params")
    lines = [*keras_diagnose._conv1_padding(want, have, params),
             *keras_diagnose._hidden_activations(have), *keras_diagnose._pool_strides(have, params),
             *_flatten(have), *_prediction(got, have), *_kernels(got), *_optimizer(expected, got)]
    steps = f"{trained['steps']} steps" if isinstance(trained, dict) else ""
    return lines or training_line(trained, training, steps, ACCURACY_TOLERANCE)


def _prediction(got: dict, have: list[dict]) -> list[str]:
    """The first returned value is not the softmax, or the softmax is applied twice."""
    returned = got.get("returned") or [{}]
    op = returned[0].get("op") if isinstance(returned[0], dict) else None
    loss = got.get("loss") if isinstance(got.get("loss"), dict) else {}
    softmaxes = sum(layer.get("activation") == "softmax" for layer in have)
    lines = []
    if op != "Softmax":
        lines.append(f"y_pred, the first value returned, comes from {op or 'no operation'}, not "
                     f"a softmax: return the probabilities, tf.nn.softmax(logits), and keep the "
                     f"logits for the loss.")
    if softmaxes > 1:
        lines.append(f"The softmax is applied {softmaxes} times on the way to y_pred: apply it "
                     f"once, to the last Dense layer's logits.")
    if loss.get("softmax_on_logits"):
        lines.append("The loss's logits already went through a softmax (softmax applied twice: "
                     "the cross-entropy applies its own): give "
                     "tf.compat.v1.losses.softmax_cross_entropy(y, logits) the last layer's "
                     "output before the softmax.")
    return lines


def _flatten(have: list[dict]) -> list[str]:
    return keras_diagnose.missing_flatten(
        have, "y_pred", "Flatten the last pooling's output first "
        "(tf.keras.layers.Flatten()(pool2), or tf.reshape(pool2, (-1, 400))).")


def _kernels(got: dict) -> list[str]:
    kernels = [kernel for kernel in got.get("kernels") or [] if isinstance(kernel, dict)]
    wrong = [(k, kernel) for k, kernel in enumerate(kernels, 1) if not is_he(kernel)]
    if not wrong:
        return []
    where = ("every kernel" if len(wrong) == len(kernels) else
             f"kernel{'s' if len(wrong) > 1 else ''} " + ", ".join(str(k) for k, _ in wrong))
    ratios = [kernel["std"] / he_std(kernel) for _, kernel in wrong
              if isinstance(kernel.get("std"), (int, float))]
    said = (f" (their standard deviations are {min(ratios):.2g} to {max(ratios):.2g} times He's)"
            if ratios and all(math.isfinite(r) for r in ratios) else "")
    return [f"The initial weights of {where} are not He normal{said}: He normal draws with a "
            f"standard deviation of sqrt(2 / fan_in), made for ReLU. Give every kernel "
            f"kernel_initializer={HE_NORMAL} (or initializer= in tf.compat.v1.get_variable)."]


def _optimizer(expected: dict, got: dict) -> list[str]:
    optimizer = got.get("optimizer")
    if not isinstance(optimizer, dict):
        return [f"No optimizer updates the weights: train_op should be {ADAM}."]
    if optimizer.get("class") != expected["optimizer"]["class"]:
        return [f"train_op updates the weights with {optimizer.get('class')}, not Adam: write "
                f"{ADAM}, with Adam's defaults."]
    config = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
    defaults = expected["optimizer"]["config"]
    changed = [f"{key} {config.get(key)!r}" for key in ADAM_KEYS
               if not keras_diagnose._close(config.get(key), defaults[key])]
    return [f"Adam has {', '.join(changed)}; the course keeps Adam's defaults ({ADAM})."] \
        if changed else []


def partial(model: dict | None) -> str:
    """What the layers lenet5(x, y) built before it failed say (a missing Flatten); "" when
    nothing."""
    if not isinstance(model, dict) or not isinstance(model.get("layers"), list):
        return ""
    try:
        return " ".join(_flatten(layers(model)))
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):  # written by the file
        return ""


def tf_layers_note(source: str, outcome_text: str) -> str:
    """keras_diagnose.tf_layers_note, with task 4's advice: tf.keras.layers or tf.nn in a
    tf.compat.v1 graph."""
    return keras_diagnose.tf_layers_note(source, outcome_text, INSTEAD)
