"""benchmarks.common: every benchmark takes --json, and the JSON line is one parseable last line."""

import json

import numpy as np
import pytest

from benchmarks import __main__ as bench_cli
from benchmarks.common import machine, print_json_line


def test_print_json_line_prints_one_parseable_final_line(capsys):
    print("| op | ms |\n|---|---:|")
    figures = {"p50_ms": np.float32(1.5), "n": np.int64(3), "label": "two\nlines",
               "cases": [{"op": "conv", "ratio": 0.25}]}
    print_json_line(figures)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) == 3
    assert json.loads(lines[-1]) == {"p50_ms": 1.5, "n": 3, "label": "two\nlines",
                                     "cases": [{"op": "conv", "ratio": 0.25}]}


@pytest.mark.parametrize("figure, error", [(float("nan"), ValueError), (object(), TypeError)])
def test_print_json_line_refuses_what_json_cannot_carry(capsys, figure, error):
    with pytest.raises(error):
        print_json_line({"x": figure})
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", list(bench_cli.BENCHMARKS))
def test_every_benchmark_takes_json(capsys, name):
    with pytest.raises(SystemExit) as exit_info:
        bench_cli.main([name, "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    assert f"python -m benchmarks {name}" in usage and "--json" in usage


def test_machine_names_cores_python_numpy_and_the_given_versions():
    line = machine(TensorFlow="2.21.0", Pillow="13.0.0")
    assert " cores; Python " in line and f"NumPy {np.__version__}" in line
    assert line.endswith(", TensorFlow 2.21.0, Pillow 13.0.0")
