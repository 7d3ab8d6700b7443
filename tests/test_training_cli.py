"""Tests of `python -m cnnviz train`: a run end to end, errors, and options built from
TrainConfig."""

import dataclasses
import json
import re

import pytest

from cnnviz import paths, training
from cnnviz.nn import lenet
from cnnviz.training import cli
from cnnviz.training.config import TrainConfig, option

FLAGS = {"--help", "--backend", "--model", "--dataset", "--epochs", "--batch-size",
         "--learning-rate", "--limit", "--seed", "--augment", "--out", "--runs-dir", "--json",
         "--ray-address"}  # README's command line


def test_cli_trains_saves_and_prints_a_json_summary(tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = cli.main(["--backend", "numpy", "--dataset", "mnist", "--epochs", "1",
                     "--batch-size", "50", "--limit", "300", "--seed", "1", "--out", str(out),
                     "--runs-dir", str(tmp_path / "runs"), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["backend"] == "numpy" and len(summary["epochs"]) == 1
    assert 0 < summary["test_accuracy"] <= 1 and summary["images_per_second"] > 0
    assert summary["model_path"] == str(out)
    assert "ETA" in captured.err and "100%" in captured.err
    lenet.load_params(out)
    assert len(training.list_runs(tmp_path / "runs")) == 1


def test_cli_rejects_a_wrong_model_suffix(tmp_path, capsys):
    code = cli.main(["--backend", "numpy", "--out", str(tmp_path / "model.keras"), "--limit", "100",
                     "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "out must end with .npz" in capsys.readouterr().err


def test_cli_options_are_train_config_fields_with_their_defaults(capsys, monkeypatch):
    monkeypatch.delenv("CNNVIZ_RAY_ADDRESS", raising=False)
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    assert set(re.findall(r"--[a-z-]+", capsys.readouterr().out)) == FLAGS
    defaults = vars(cli.parse_args([]))
    where = {name: defaults.pop(name) for name in ("out", "runs_dir", "json", "ray_address")}
    assert where == {"out": None, "runs_dir": paths.runs_dir(), "json": False,
                     "ray_address": None}  # no Ray address: the run trains in this process
    monkeypatch.setenv("CNNVIZ_RAY_ADDRESS", "10.0.0.5:6379")
    assert cli.parse_args([]).ray_address == "10.0.0.5:6379"
    expected = dataclasses.asdict(TrainConfig())
    del expected["validation_fraction"]  # the one field kept off the command line
    assert defaults == expected
    assert cli.parse_args(["--limit", "500", "--augment"]).limit == 500
    with pytest.raises(SystemExit):
        cli.parse_args(["--backend", "torch"])  # choices come from the backend registry
    assert "invalid choice: 'torch'" in capsys.readouterr().err


def test_a_new_train_config_field_becomes_an_option(monkeypatch):
    @dataclasses.dataclass
    class WithMomentum(TrainConfig):
        momentum: float = option(0.9, "SGD momentum")

    monkeypatch.setattr(cli, "TrainConfig", WithMomentum)
    assert cli.parse_args([]).momentum == 0.9
    assert cli.parse_args(["--momentum", "0.5"]).momentum == 0.5
