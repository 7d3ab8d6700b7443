"""cnnviz.networks.export: the exported Keras scripts build the same model and train in a
subprocess."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.networks import architectures, export, presets
from cnnviz.networks.architectures import Network
from cnnviz.networks.layer_specs import Conv2D, Dense, Flatten, LocalResponseNormalization

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"epochs": 2, "batch_size": 32, "learning_rate": 0.002, "seed": 3}
EVERY_NETWORK = {**presets.PRESETS, **presets.TRAINING_NETWORKS}
ALEXNETS = ("AlexNet (2012, two GPUs)", "AlexNet (one tower)")  # ImageNet's: nothing to train on
TRAINABLE = {title: network for title, network in EVERY_NETWORK.items() if title not in ALEXNETS}


def dataset_for(network: Network) -> str:
    if network.input_shape == presets.IMAGENET_SHAPE:
        return "imagenet"
    return "cifar10" if network.input_shape == (32, 32, 3) else "mnist"


def script_for(network: Network, **settings) -> str:
    return export.keras_script(network, dataset=dataset_for(network), **{**SETTINGS, **settings})


@pytest.mark.parametrize("title", list(TRAINABLE))
def test_every_network_exports_a_script_with_its_settings(title):
    network = TRAINABLE[title]
    script = script_for(network, limit=500)
    compile(script, f"{network.name}.py", "exec")
    for line in ("EPOCHS = 2", "BATCH_SIZE = 32", "LEARNING_RATE = 0.002", "SEED = 3",
                 "LIMIT = 500", f'DATASET = "{dataset_for(network)}"', f'name="{network.name}"'):
        assert line in script
    assert max(len(line) for line in script.splitlines()) <= 100
    for name in architectures.layer_names(network):
        assert f'name="{name}"' in script


@pytest.mark.parametrize("title, params", [(ALEXNETS[0], "60,965,224"),
                                           (ALEXNETS[1], "62,378,344")])
def test_imagenet_scripts_say_there_is_no_data_and_only_build(title, params):
    network = presets.PRESETS[title]
    assert export.datasets_for(network) == ["imagenet"]
    script = export.keras_script(network, dataset="imagenet", learning_rate=0.002, seed=3)
    compile(script, f"{network.name}.py", "exec")
    assert "cnnviz has no ImageNet data, so this script does not train" in script
    assert f"({params} parameters, 1000 classes)" in script
    assert "LEARNING_RATE = 0.002" in script and "SEED = 3" in script
    for absent in ("EPOCHS", "model.fit", "load_data", "DATASET ="):
        assert absent not in script
    assert max(len(line) for line in script.splitlines()) <= 100
    assert script.count("class LocalResponseNormalization(keras.layers.Layer)") == 1
    assert 'LocalResponseNormalization(name="conv2_lrn"),' in script
    assert ("groups=2" in script) == (title == ALEXNETS[0])


def test_datasets_for_follow_the_input_shape_and_the_classes():
    assert export.datasets_for(presets.LENET5) == ["mnist", "fashion-mnist"]
    assert export.datasets_for(presets.PRESETS["CNN for CIFAR-10 (lecture)"]) == ["cifar10"]
    small = Network("small", (64, 64, 3), (Flatten(), Dense(1000)))
    assert export.datasets_for(small) == ["imagenet"]  # any colour size: ImageNet is resized
    cifar_sized = Network("small", (32, 32, 3), (Flatten(), Dense(1000)))
    assert export.datasets_for(cifar_sized) == ["cifar10", "imagenet"]  # input shape alone
    assert export.datasets_for(Network("gray", (64, 64, 1), (Flatten(), Dense(1000)))) == []


def test_script_holds_out_the_data_splits_fraction(monkeypatch):
    from cnnviz.data import splits

    assert f"VALIDATION_FRACTION = {splits.VALIDATION_FRACTION!r}  #" in script_for(presets.LENET5)
    monkeypatch.setattr(export, "VALIDATION_FRACTION", 0.25)  # stated once: the script follows
    assert "VALIDATION_FRACTION = 0.25  #" in script_for(presets.LENET5)


def test_script_loads_cnnviz_data_when_it_can_and_keras_otherwise():
    mnist = script_for(presets.LENET5)
    assert "from cnnviz.data import load_dataset" in mnist
    assert "keras.datasets.mnist.load_data()" in mnist
    cifar = script_for(presets.PRESETS["CNN for CIFAR-10 (lecture)"])
    assert "cnnviz" not in cifar.split("def load_data")[1].split("def _images")[0]
    assert "keras.datasets.cifar10.load_data()" in cifar


@pytest.mark.parametrize("network, settings, expected", [
    (presets.LENET5, {"dataset": "cifar10"},
     "cifar10 images are (32, 32, 3), the network's input is (28, 28, 1)"),
    (Network("no_classes", (28, 28, 1), (Flatten(), Dense(5))), {},
     "last layer gives (5,); to classify mnist it must give (10,)"),
    (presets.LENET5, {"dataset": "svhn"}, "dataset must be one of"),
    (presets.LENET5, {"epochs": 0}, "epochs must be a positive integer"),
    (presets.LENET5, {"batch_size": 2.5}, "batch_size must be a positive integer"),
    (presets.LENET5, {"learning_rate": -1}, "learning_rate must be a number > 0"),
    (presets.LENET5, {"limit": 1}, "limit must be None or an integer >= 2"),
    (Network("bad", (28, 28, 1), (Dense(10),)), {}, "layer 1 (Dense)"),
    (presets.LENET5, {"dataset": "imagenet"},
     "ImageNet images have 3 channels, the network's input is (28, 28, 1)"),
    (presets.PRESETS["CNN for CIFAR-10 (lecture)"], {"dataset": "imagenet"},
     "last layer gives (10,); to classify ImageNet it must give (1000,): end with Dense(1000)"),
    (presets.PRESETS[ALEXNETS[0]], {}, "mnist images are (28, 28, 1), the network's input is "
                                       "(227, 227, 3)"),
])
def test_invalid_exports_say_why(network, settings, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        export.keras_script(network, **{"dataset": "mnist", **SETTINGS, **settings})


def test_script_filename_is_safe():
    assert export.script_filename(presets.LENET5, "fashion-mnist") == "lenet5_fashion_mnist.py"


def built_from_script(script: str, folder: Path):
    """build_model() of the script, run in this process (its main() is not)."""
    path = folder / "exported.py"
    path.write_text(script)
    return runpy.run_path(str(path), run_name="exported")["build_model"]()


@pytest.mark.tf
@pytest.mark.parametrize("title", list(EVERY_NETWORK))
def test_script_builds_the_same_model_as_to_keras(title, tmp_path):
    import numpy as np

    network = EVERY_NETWORK[title]
    exported = built_from_script(script_for(network), tmp_path)
    original = architectures.to_keras(network, SETTINGS["learning_rate"], seed=SETTINGS["seed"])
    original_layers = [layer for layer in original.layers if type(layer).__name__ != "InputLayer"]
    assert [(type(layer).__name__, layer.name, layer.count_params())
            for layer in exported.layers] == [
        (type(layer).__name__, layer.name, layer.count_params()) for layer in original_layers]
    assert exported.count_params() == original.count_params()
    for mine, theirs in zip(exported.get_weights(), original.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)  # same seeded initializers
    assert float(exported.optimizer.learning_rate.numpy()) == pytest.approx(0.002)
    assert exported.loss == original.loss


def layer_types(model) -> list[str]:
    names = [type(layer).__name__ for layer in model.layers if type(layer).__name__ != "InputLayer"]
    return ["Activation" if name == "ReLU" else name for name in names]  # ReLU() = Activation


# Two runs, since each costs 10-15 s on a quiet machine (TensorFlow's import, the first epoch's
# tracing) and main() is the same code for every network (the models are compared above): the
# training page's LeNet-5 on MNIST, and its batch-norm variant (Activation layers) on Fashion-MNIST.
RUNS = [("lenet5", "mnist"), ("lenet5-batchnorm", "fashion-mnist")]


@pytest.mark.tf
def test_exported_lrn_matches_cnnvizs_and_the_saved_model_loads(tmp_path):
    import keras
    import numpy as np

    network = Network("lrn", (28, 28, 1), (Conv2D(6, 3, activation="relu"),
                                           LocalResponseNormalization(1, 1.0, 0.01, 0.5),
                                           Flatten(), Dense(10)))
    exported = built_from_script(script_for(network), tmp_path)
    original = architectures.to_keras(network, seed=SETTINGS["seed"])
    images = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(exported.predict(images, verbose=0),
                               original.predict(images, verbose=0), rtol=1e-5)
    exported.save(tmp_path / "lrn.keras")
    loaded = keras.models.load_model(tmp_path / "lrn.keras", compile=False)
    assert loaded.get_layer("conv1_lrn").get_config()["alpha"] == 0.01
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               original.predict(images, verbose=0), rtol=1e-5)


@pytest.mark.tf
def test_imagenet_script_builds_and_summarizes_in_a_subprocess(tmp_path):
    network = presets.PRESETS[ALEXNETS[0]]
    script = tmp_path / export.script_filename(network, "imagenet")
    script.write_text(export.keras_script(network, dataset="imagenet", learning_rate=0.001,
                                          seed=0))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "60,965,224 parameters" in result.stdout and "conv1_lrn" in result.stdout


@pytest.mark.tf
@pytest.mark.parametrize("name, dataset", RUNS)
def test_exported_script_trains_one_epoch_in_a_subprocess(name, dataset, tmp_path):
    import keras

    from cnnviz import data

    if dataset not in data.available_datasets():
        pytest.skip(f"{dataset} is not installed (scripts/system-deps.sh installs it)")
    network = EVERY_NETWORK[name]
    script = tmp_path / export.script_filename(network, dataset)
    script.write_text(export.keras_script(network, dataset=dataset, **SETTINGS))
    saved = tmp_path / "model.keras"
    result = subprocess.run(
        [sys.executable, str(script), "--epochs", "1", "--limit", "300", "--save", str(saved)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "val_accuracy" in result.stdout and "test accuracy" in result.stdout
    trained = keras.models.load_model(saved)
    original = architectures.to_keras(network)
    assert trained.count_params() == original.count_params()
    assert layer_types(trained) == layer_types(original)
