"""Task 5's likely mistakes in words: the student's Keras LeNet-5 read against the course's.

Each check reads the two descriptions (keras_task.layers of keras_child's JSON) and says what is
wrong and what to write instead; consequences are computed, not stated: the parameter count with
conv1's padding "valid" comes from cnnviz.networks.architectures.analyze on the course's LeNet-5
so changed. `tf_layers_note` explains TensorFlow 1's `tf.layers`, gone from TensorFlow 2.16 on.
"""

import ast
import dataclasses
import math

from cnnviz.check.keras_task import (
    ADAM_KEYS,
    HE,
    KERNEL_LAYERS,
    _activation,
    _shape,
    compiled_text,
    initializer_text,
    layers,
)
from cnnviz.check.parsing import parse
from cnnviz.networks.architectures import analyze
from cnnviz.networks.presets import LENET5

COMPILE = ("model.compile(optimizer=K.optimizers.Adam(), loss='categorical_crossentropy', "
           "metrics=['accuracy'])")
KERAS_LAYERS = ("keras.layers (import tensorflow.keras as K: K.layers.Conv2D, "
                "K.layers.MaxPooling2D, K.layers.Flatten, K.layers.Dense), applied to X and "
                "returned as K.Model(inputs=X, outputs=...)")


def diagnose(expected: dict, got: dict) -> list[str]:
    """Sentences for the student, one per known mistake found in `got` (keras_child's
    description of their model) against `expected` (the course's)."""
    want, have = layers(expected), layers(got)
    return [*_conv1_padding(want, have, got.get("params")), *_hidden_activations(have),
            *_pool_strides(have, got.get("params")), *missing_flatten(have), *_output(have),
            *_initializers(have), *_compiled(expected, got)]


def _conv1_padding(want: list[dict], have: list[dict], params) -> list[str]:
    first = [next((layer for layer in model if layer.get("class") == "Conv2D"), {})
             for model in (want, have)]
    if first[1].get("padding") != "valid" or first[0].get("padding") != "same":
        return []
    conv1 = next(k for k, layer in enumerate(LENET5.layers) if layer.kind == "Conv2D")
    changed = list(LENET5.layers)
    changed[conv1] = dataclasses.replace(changed[conv1], padding="valid")
    rows = analyze(dataclasses.replace(LENET5, layers=tuple(changed))).rows
    course = analyze(LENET5)
    shapes = " -> ".join("x".join(map(str, row.output_shape)) for row in rows[conv1:]
                         if len(row.output_shape) == 3)
    flat = next(row.output_shape[0] for row in rows if len(row.output_shape) == 1)
    total = sum(row.params for row in rows)
    yours = " (yours has exactly that)" if params == total else (
        f" (yours has {params:,})" if isinstance(params, int) else "")
    course_flat = next(row.output_shape[0] for row in course.rows if len(row.output_shape) == 1)
    return [f"conv1 has padding='valid': its maps shrink to {rows[conv1].output_shape[0]}x"
            f"{rows[conv1].output_shape[1]} instead of staying 28x28, every later map shrinks "
            f"with them ({shapes}) and Flatten gives {flat} values instead of {course_flat}, so "
            f"the model has {total:,} parameters instead of {course.total_params:,}{yours}. "
            f"Give the first Conv2D padding='same'."]


def _hidden_activations(have: list[dict]) -> list[str]:
    hidden = [(k, layer) for k, layer in enumerate(have[:-1], 1)
              if layer.get("class") in KERNEL_LAYERS and _activation(layer) != "relu"]
    missing = [f"layer {k} ({layer.get('class')})" for k, layer in hidden
               if _activation(layer) == "linear"]
    other = [f"layer {k} ({layer.get('class')}) uses {_activation(layer)}" for k, layer in hidden
             if _activation(layer) != "linear"]
    lines = []
    if missing:
        lines.append(f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no "
                     f"activation: without ReLU, layers in a row are one linear map. The course's "
                     f"hidden layers take activation='relu'.")
    if other:
        lines.append(f"{'; '.join(other)}: the course's hidden layers use ReLU "
                     f"(activation='relu').")
    return lines


def _pool_strides(have: list[dict], params) -> list[str]:
    lines = []
    for k, layer in enumerate(have, 1):
        pool, strides = layer.get("pool_size"), layer.get("strides")
        if "Pooling" not in str(layer.get("class")) or not pool or strides != [1] * len(pool):
            continue
        before = _shape(have[k - 2]) if k > 1 else "(28, 28, 1)"
        count = (f"; the model then has {params:,} parameters" if isinstance(params, int)
                 and not lines else "")
        lines.append(f"layer {k} ({layer.get('class')}) pools with strides=(1, 1): its windows "
                     f"overlap and the maps go from {before} to {_shape(layer)} instead of "
                     f"halving{count}. Write MaxPooling2D((2, 2), strides=(2, 2)) (without "
                     f"strides, Keras moves by the pool size).")
    return lines


def missing_flatten(have: list[dict], output: str = "the model's output",
                    fix: str = "Add K.layers.Flatten() between the last pooling and the first "
                               "Dense.") -> list[str]:
    """A line when the first Dense layer of `have` gets maps (Flatten missing), else []; `output`
    names what the student returns, `fix` says how to flatten in the task's API."""
    if any(layer.get("class") == "Flatten" for layer in have):
        return []
    dense = next((k for k, layer in enumerate(have) if layer.get("class") == "Dense"), None)
    if dense is None or len(have[dense].get("output_shape") or []) <= 2:
        return []
    before = _shape(have[dense - 1]) if dense else "(28, 28, 1)"
    return [f"Flatten is missing: Dense on the {before} maps works on their last axis alone, so "
            f"{output} is {_shape(have[-1])}, not 10 probabilities per image. {fix}"]


def _output(have: list[dict]) -> list[str]:
    if not have or _activation(have[-1]) == "softmax":
        return []
    return [f"The output layer's activation is {_activation(have[-1])}, not softmax: the course's "
            f"LeNet-5 ends in Dense(10, activation='softmax'), the probabilities "
            f"categorical cross-entropy expects."]


def _initializers(have: list[dict]) -> list[str]:
    kernels = [(k, layer) for k, layer in enumerate(have, 1)
               if layer.get("class") in KERNEL_LAYERS]
    wrong = [(k, layer) for k, layer in kernels if not _is_he(layer)]
    if not wrong:
        return []
    names = sorted({initializer_text(layer) for _, layer in wrong})
    where = ("every kernel layer" if len(wrong) == len(kernels)
             else "layers " + ", ".join(str(k) for k, _ in wrong))
    return [f"The kernels of {where} start from {' and '.join(names)}, not He normal: write "
            f"kernel_initializer=K.initializers.he_normal() (VarianceScaling(scale=2.0, "
            f"mode='fan_in', distribution='truncated_normal'), made for ReLU) on every Conv2D "
            f"and Dense."]


def _is_he(layer: dict) -> bool:
    init = layer.get("kernel_initializer") or {}
    scale = init.get("scale")
    return (isinstance(scale, (int, float)) and math.isclose(scale, HE["scale"])
            and all(init.get(key) == HE[key] for key in ("mode", "distribution")))


def _compiled(expected: dict, got: dict) -> list[str]:
    compiled, course = got.get("compiled"), expected["compiled"]
    if not isinstance(compiled, dict):
        return [f"The model is not compiled: call {COMPILE} before returning it."]
    lines = []
    optimizer = compiled.get("optimizer") or {}
    if optimizer.get("class") != course["optimizer"]["class"]:
        lines.append(f"The model is compiled with {optimizer.get('class')}, not Adam: the course "
                     f"uses optimizer=K.optimizers.Adam() with its defaults.")
    else:
        config, defaults = optimizer.get("config") or {}, course["optimizer"]["config"]
        changed = [f"{key} {config.get(key)!r}" for key in ADAM_KEYS
                   if not _close(config.get(key), defaults[key])]
        if changed:
            lines.append(f"Adam has {', '.join(changed)}; the course keeps Adam's defaults "
                         f"(K.optimizers.Adam()).")
    if compiled.get("loss") != course["loss"] or compiled.get("from_logits"):
        lines.append(f"The loss is {compiled.get('loss')}"
                     f"{' with from_logits=True' if compiled.get('from_logits') else ''}; the "
                     f"course's is loss='categorical_crossentropy' on the softmax's output.")
    if "accuracy" not in compiled_text(got, "metrics").split(", "):
        lines.append("No accuracy metric: compile with metrics=['accuracy'].")
    return lines


def _close(value, default) -> bool:
    return isinstance(value, (int, float)) and math.isclose(value, default, rel_tol=1e-6)


def tf_layers_note(source: str, outcome_text: str, instead: str = KERAS_LAYERS) -> str:
    """A paragraph when the file uses TensorFlow 1's tf.layers (or tf.contrib), which TensorFlow
    2.16 and later no longer have (tf.compat.v1.layers fails under Keras 3); "" otherwise.
    outcome_text: the failure's message and traceback; instead: what to build the model with."""
    used = {name for name in ("layers", "contrib") if f"has no attribute '{name}'" in outcome_text}
    used |= {"layers"} if "is not available with Keras 3" in outcome_text else set()
    try:
        tree = parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        if (isinstance(node, ast.Attribute) and node.attr in ("layers", "contrib")
                and isinstance(node.value, ast.Name) and node.value.id in ("tf", "tensorflow")):
            used.add(node.attr)
    if not used:
        return ""
    gone = " and ".join(f"tf.{name}" for name in sorted(used))
    return (f"{gone} {'is' if len(used) == 1 else 'are'} TensorFlow 1's API, gone from "
            f"TensorFlow 2.16 on (the grader's is TensorFlow 2): build the model with "
            f"{instead}.")
