"""Tests of the run's vocabulary: TrainConfig's validation, History's CSV, the registries."""

import pytest

from cnnviz import training
from cnnviz.training import TrainConfig


@pytest.mark.parametrize("field, value, message", [
    ("backend", "torch", "backend must be one of"),
    ("model", "mlp", "model must be one of"),
    ("epochs", 0, "epochs must be a positive integer"),
    ("learning_rate", -1.0, "learning_rate must be > 0"),
    ("limit", 1, "limit must be None or an integer >= 2"),
])
def test_config_validate_names_the_bad_field(field, value, message):
    config = TrainConfig(backend="numpy")
    setattr(config, field, value)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_history_to_csv_has_one_row_per_epoch():
    history = training.History(epochs=[{"epoch": 0, "loss": 1.5}, {"epoch": 1, "loss": 0.5}])
    assert history.to_csv() == "epoch,loss\n0,1.5\n1,0.5\n"
    assert training.History().to_csv("batch") == "epoch\n"


def test_format_seconds():
    assert training.format_seconds(65) == "1:05"
    assert training.format_seconds(3725) == "1:02:05"


def test_models_for_each_backend_follow_the_registry():
    assert training.models_for("keras") == tuple(training.MODELS)
    assert training.models_for("numpy") == training.models_for("tf1") == ("lenet5",)
    assert [name for name, spec in training.MODELS.items() if spec.lenet_layout] == [
        "lenet5", "lenet5-dropout"]


def test_every_model_is_trained_by_known_backends_keras_among_them():
    for name, model in training.MODELS.items():
        assert "keras" in model.backends and set(model.backends) <= set(training.BACKENDS), name


def test_the_registry_is_declared_once_with_the_networks():
    from cnnviz.networks import presets

    assert training.MODELS is presets.TRAINING_MODELS
    assert presets.TRAINING_NETWORKS == {name: model.network for name, model
                                         in presets.TRAINING_MODELS.items()}


def test_config_holds_out_the_data_splits_fraction():
    from cnnviz.data import splits

    assert TrainConfig().validation_fraction == splits.VALIDATION_FRACTION
    assert training.config.FIELDS["epochs"].default == TrainConfig().epochs
    assert training.config.FIELDS["backend"].metadata["choices"] == tuple(training.BACKENDS)
