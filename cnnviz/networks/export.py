"""Export as code: a network and its training settings as a short, self-contained Keras script.

    print(keras_script(networks.LENET5, dataset="mnist", epochs=3, batch_size=64,
                       learning_rate=0.001, seed=0))

The script builds the same model as `architectures.to_keras` (same layers and names, HeNormal(seed)
kernels, Adam(learning_rate), categorical cross-entropy, accuracy), loads the same data
(cnnviz.data.load_dataset when cnnviz is importable, else Keras' own loader, which downloads the
dataset), holds out training's validation split (cnnviz.data.splits.VALIDATION_FRACTION, seeded,
of the first `limit` images of a seeded permutation), trains with model.fit and reports the test
accuracy. `--epochs`, `--limit` and `--save model.keras` override it from the command line.

cnnviz has no ImageNet images: for a 1000-class network on colour images (AlexNet) the dataset
"imagenet" gives a script that says so, builds and compiles the model, prints its summary and
parameter count, and with `--save` writes it untrained. Layers Keras lacks (local response
normalization) travel in the script as their own small class.
"""

import re
import textwrap

from cnnviz.data.splits import VALIDATION_FRACTION
from cnnviz.networks.architectures import (
    CUSTOM_KERAS_LAYERS,
    Analysis,
    Network,
    analyze,
    ends_in_softmax,
    keras_layers,
)

DATASET_SHAPES = {"mnist": (28, 28, 1), "fashion-mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
BUILD_ONLY = {"imagenet": ("ImageNet", 3, 1000)}  # no data in cnnviz: (title, channels, classes)
KERAS_LOADERS = {"mnist": "mnist", "fashion-mnist": "fashion_mnist", "cifar10": "cifar10"}
CNNVIZ_DATASETS = ("mnist", "fashion-mnist")  # the ones cnnviz.data.load_dataset reads
N_CLASSES = 10
LINE_LENGTH = 100

LOAD_WITH_CNNVIZ = '''\
def load_data(name):
    """((x_train, y_train), (x_test, y_test)): images (n, h, w, c) float32 in [0, 1], one-hot labels
    (n, 10). cnnviz's loader when cnnviz is installed (the data the app trains on), else Keras'."""
    try:
        from cnnviz.data import load_dataset
    except ImportError:
        splits = keras.datasets.{keras_loader}.load_data()  # downloads it the first time
    else:
        data = load_dataset(name)
        splits = (data.x_train, data.y_train), (data.x_test, data.y_test)
    return [(_images(x), keras.utils.to_categorical(np.ravel(y), {n_classes}))
            for x, y in splits]'''
LOAD_WITH_KERAS = '''\
def load_data(name):
    """((x_train, y_train), (x_test, y_test)): images (n, h, w, c) float32 in [0, 1], one-hot labels
    (n, 10), from Keras' loader (it downloads the dataset the first time)."""
    splits = keras.datasets.{keras_loader}.load_data()
    return [(_images(x), keras.utils.to_categorical(np.ravel(y), {n_classes}))
            for x, y in splits]'''

HEADER = '''\
"""{title} on {dataset}, exported from cnnviz: build, train and test it with Keras.

    python {filename} [--epochs N] [--limit N] [--save model.keras]
"""

import argparse

import keras
import numpy as np
from keras import layers

DATASET = "{dataset}"
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}
LEARNING_RATE = {learning_rate!r}  # Adam
VALIDATION_FRACTION = {validation_fraction!r}  # held out of the training images (seeded), as cnnviz
SEED = {seed}  # initial weights, validation split, dropout
LIMIT = {limit!r}  # training images used, validation included (None: all)
'''
BUILD_ONLY_HEADER = '''\
"""{title}, exported from cnnviz: build it with Keras and print its summary.

cnnviz has no {dataset} data, so this script does not train: it builds and compiles the
model ({params:,} parameters, {classes} classes), prints its summary and, with --save, writes
it untrained.

    python {filename} [--save model.keras]
"""

import argparse

import keras
from keras import layers

LEARNING_RATE = {learning_rate!r}  # Adam
SEED = {seed}  # initial weights
'''
MODEL = '''

def he_normal():
    """He-normal kernels (std sqrt(2 / fan_in)), seeded: every run starts from the same weights."""
    return keras.initializers.HeNormal(seed=SEED)
{custom_layers}

def build_model():
    """The network, compiled: Adam, cross-entropy, accuracy."""
    model = keras.Sequential(
        [
            keras.Input({input_shape}),
{layers}
        ],
        name="{name}",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss={loss},
        metrics=["accuracy"],
    )
    return model
'''
TRAIN = '''

{load_data}


def _images(x):
    x = np.asarray(x, dtype="float32") / 255
    return x[..., None] if x.ndim == 3 else x  # grayscale (n, h, w) -> (n, h, w, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit", type=int, default=LIMIT, help="training images used")
    parser.add_argument("--save", default=None, help="where to save the trained model (.keras)")
    args = parser.parse_args()

    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test) = load_data(DATASET)
    order = np.random.default_rng(SEED).permutation(len(x_train))[: args.limit]
    n_valid = max(1, round(VALIDATION_FRACTION * len(order)))
    valid, train = order[:n_valid], order[n_valid:]

    model = build_model()
    model.summary()
    model.fit(x_train[train], y_train[train], batch_size=BATCH_SIZE, epochs=args.epochs,
              validation_data=(x_train[valid], y_train[valid]), verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {{loss:.4f}}, test accuracy {{accuracy:.4f}}")
    if args.save:
        model.save(args.save)


if __name__ == "__main__":
    main()
'''
BUILD_ONLY_MAIN = '''

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", default=None, help="where to save the untrained model (.keras)")
    args = parser.parse_args()

    keras.utils.set_random_seed(SEED)
    model = build_model()
    model.summary()
    print(f"{{model.count_params():,}} parameters")
    if args.save:
        model.save(args.save)


if __name__ == "__main__":
    main()
'''


def _literal(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def layer_code(kind: str, args: tuple, kwargs: dict, indent: int = 12) -> str:
    """One Keras layer as code, layers.Conv2D(6, 5, padding="same", ..., name="conv1"), indented
    and followed by a comma; its arguments wrapped onto lines of their own past 100 characters."""
    parts = [_literal(value) for value in args]
    for key, value in kwargs.items():
        parts.append(f"{key}=he_normal()" if key == "kernel_initializer" else
                     f"{key}={_literal(value)}")
    call = kind if kind in CUSTOM_KERAS_LAYERS else f"layers.{kind}"  # ours: in the script
    line = f"{' ' * indent}{call}({', '.join(parts)}),"
    if len(line) <= LINE_LENGTH:
        return line
    inner = " " * (indent + 4)
    wrapped = textwrap.fill(", ".join(parts) + ",", LINE_LENGTH, initial_indent=inner,
                            subsequent_indent=inner, break_long_words=False,
                            break_on_hyphens=False)
    return f"{' ' * indent}{call}(\n{wrapped}\n{' ' * indent}),"


def datasets_for(network: Network, analysis: Analysis | None = None) -> list[str]:
    """The datasets keras_script can take for this network: those whose images are its input
    shape, and the build-only ones (BUILD_ONLY) whose classes it outputs on their channels."""
    analysis = analysis or analyze(network)
    return [name for name, shape in DATASET_SHAPES.items() if shape == network.input_shape] + [
        name for name, (_, channels, classes) in BUILD_ONLY.items()
        if network.input_shape[-1] == channels and analysis.output_shape == (classes,)]


def _check_settings(epochs, batch_size, learning_rate, seed, limit, *, training: bool) -> None:
    """ValueError naming the first invalid setting; epochs, batch size and limit only matter (and
    are only checked) when the script trains."""
    named = (("epochs", epochs), ("batch_size", batch_size)) if training else ()
    for name, value in (*named, ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (name != "seed"):
            raise ValueError(f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} "
                             f"integer, got {value!r}")
    if not (isinstance(learning_rate, int | float) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
    if training and limit is not None and (not isinstance(limit, int) or limit < 2):
        raise ValueError(f"limit must be None or an integer >= 2, got {limit!r}")


def _check_fit(network: Network, analysis: Analysis, dataset: str) -> None:
    """ValueError when the network cannot take the dataset's images or classify them."""
    if dataset in BUILD_ONLY:
        name, channels, classes = BUILD_ONLY[dataset]
        if network.input_shape[-1] != channels:
            raise ValueError(f"{name} images have {channels} channels, the network's input is "
                             f"{network.input_shape}; set its input channels to {channels}")
    else:
        name, classes = dataset, N_CLASSES
        if network.input_shape != DATASET_SHAPES[dataset]:
            raise ValueError(f"{dataset} images are {DATASET_SHAPES[dataset]}, the network's input "
                             f"is {network.input_shape}; set its input shape to match")
    if analysis.output_shape != (classes,):
        raise ValueError(f"the network's last layer gives {analysis.output_shape}; to classify "
                         f"{name} it must give ({classes},): end with Dense({classes})")


def keras_script(network: Network, *, dataset: str, epochs: int | None = None,
                 batch_size: int | None = None, learning_rate: float, seed: int,
                 limit: int | None = None, title: str | None = None) -> str:
    """A Python script that builds `network` in Keras and trains it with these settings, or for a
    BUILD_ONLY dataset (no data in cnnviz) builds and summarizes it (see the module docstring).
    ValueError when the settings are invalid or the network cannot take the dataset's images (its
    input shape) or classify them (its output must be one value per class)."""
    if dataset not in DATASET_SHAPES and dataset not in BUILD_ONLY:
        raise ValueError(f"dataset must be one of {', '.join([*DATASET_SHAPES, *BUILD_ONLY])}, "
                         f"got {dataset!r}")
    training = dataset not in BUILD_ONLY
    _check_settings(epochs, batch_size, learning_rate, seed, limit, training=training)
    analysis = analyze(network)
    _check_fit(network, analysis, dataset)
    specs = keras_layers(network)
    used = dict.fromkeys(kind for kind, _, _ in specs if kind in CUSTOM_KERAS_LAYERS)
    settings = {
        "title": title or network.name, "filename": script_filename(network, dataset),
        "learning_rate": float(learning_rate), "seed": seed, "input_shape": network.input_shape,
        "layers": "\n".join(layer_code(*spec) for spec in specs), "name": network.name,
        "custom_layers": "".join(f"\n\n{CUSTOM_KERAS_LAYERS[kind]}\n" for kind in used),
        "loss": ('"categorical_crossentropy"' if ends_in_softmax(network)
                 else "keras.losses.CategoricalCrossentropy(from_logits=True)")}
    if not training:
        name, _, classes = BUILD_ONLY[dataset]
        return (BUILD_ONLY_HEADER + MODEL + BUILD_ONLY_MAIN).format(
            **settings, dataset=name, params=analysis.total_params, classes=classes)
    loader = LOAD_WITH_CNNVIZ if dataset in CNNVIZ_DATASETS else LOAD_WITH_KERAS
    return (HEADER + MODEL + TRAIN).format(
        **settings, dataset=dataset, epochs=epochs, batch_size=batch_size, limit=limit,
        validation_fraction=VALIDATION_FRACTION,
        load_data=loader.format(keras_loader=KERAS_LOADERS[dataset], n_classes=N_CLASSES))


def script_filename(network: Network, dataset: str) -> str:
    """A file name for the script: <network>_<dataset>.py, safe characters only."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", f"{network.name}_{dataset}") + ".py"
