"""Export as code: a network and its training settings as a short, self-contained Keras script.

    print(keras_script(networks.LENET5, dataset="mnist", epochs=3, batch_size=64,
                       learning_rate=0.001, seed=0))

The script builds the same model as `architectures.to_keras` (same layers and names, HeNormal(seed)
kernels, Adam(learning_rate), categorical cross-entropy, accuracy), loads the same data
(cnnviz.data.load_dataset when cnnviz is importable, else Keras' own loader, which downloads the
dataset), holds out training's validation split (cnnviz.data.splits.VALIDATION_FRACTION, seeded,
of the first `limit` images of a seeded permutation), trains with model.fit and reports the test
accuracy. `--epochs`, `--limit` and `--save model.keras` override it from the command line.
"""

import re
import textwrap

from cnnviz.data.splits import VALIDATION_FRACTION
from cnnviz.networks.architectures import Network, analyze, ends_in_softmax, keras_layers

DATASET_SHAPES = {"mnist": (28, 28, 1), "fashion-mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
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

TEMPLATE = '''\
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


def he_normal():
    """He-normal kernels (std sqrt(2 / fan_in)), seeded: every run starts from the same weights."""
    return keras.initializers.HeNormal(seed=SEED)


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


def _literal(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def layer_code(kind: str, args: tuple, kwargs: dict, indent: int = 12) -> str:
    """One Keras layer as code, layers.Conv2D(6, 5, padding="same", ..., name="conv1"), indented
    and followed by a comma; its arguments wrapped onto lines of their own past 100 characters."""
    parts = [_literal(value) for value in args]
    for key, value in kwargs.items():
        parts.append(f"{key}=he_normal()" if key == "kernel_initializer" else
                     f"{key}={_literal(value)}")
    line = f"{' ' * indent}layers.{kind}({', '.join(parts)}),"
    if len(line) <= LINE_LENGTH:
        return line
    inner = " " * (indent + 4)
    wrapped = textwrap.fill(", ".join(parts) + ",", LINE_LENGTH, initial_indent=inner,
                            subsequent_indent=inner, break_long_words=False,
                            break_on_hyphens=False)
    return f"{' ' * indent}layers.{kind}(\n{wrapped}\n{' ' * indent}),"


def keras_script(network: Network, *, dataset: str, epochs: int, batch_size: int,
                 learning_rate: float, seed: int, limit: int | None = None,
                 title: str | None = None) -> str:
    """A Python script that builds `network` in Keras and trains it with these settings (see the
    module docstring). ValueError when the settings are invalid or the network cannot take the
    dataset's images (its input shape) or classify them (its output must be 10 values)."""
    if dataset not in DATASET_SHAPES:
        raise ValueError(f"dataset must be one of {', '.join(DATASET_SHAPES)}, got {dataset!r}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (name != "seed"):
            raise ValueError(f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} "
                             f"integer, got {value!r}")
    if not (isinstance(learning_rate, int | float) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 2):
        raise ValueError(f"limit must be None or an integer >= 2, got {limit!r}")
    analysis = analyze(network)
    if network.input_shape != DATASET_SHAPES[dataset]:
        raise ValueError(f"{dataset} images are {DATASET_SHAPES[dataset]}, the network's input is "
                         f"{network.input_shape}; set its input shape to match")
    if analysis.output_shape != (N_CLASSES,):
        raise ValueError(f"the network's last layer gives {analysis.output_shape}; to classify "
                         f"{dataset} it must give ({N_CLASSES},): end with Dense({N_CLASSES})")
    layer_lines = "\n".join(layer_code(*spec) for spec in keras_layers(network))
    loader = LOAD_WITH_CNNVIZ if dataset in CNNVIZ_DATASETS else LOAD_WITH_KERAS
    loss = ('"categorical_crossentropy"' if ends_in_softmax(network)
            else "keras.losses.CategoricalCrossentropy(from_logits=True)")
    return TEMPLATE.format(
        title=title or network.name, dataset=dataset, filename=script_filename(network, dataset),
        epochs=epochs, batch_size=batch_size, learning_rate=float(learning_rate), seed=seed,
        limit=limit, validation_fraction=VALIDATION_FRACTION, input_shape=network.input_shape,
        layers=layer_lines, name=network.name, loss=loss,
        load_data=loader.format(keras_loader=KERAS_LOADERS[dataset], n_classes=N_CLASSES))


def script_filename(network: Network, dataset: str) -> str:
    """A file name for the script: <network>_<dataset>.py, safe characters only."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", f"{network.name}_{dataset}") + ".py"
