"""`python -m cnnviz` and `python -m benchmarks`: every listed benchmark exists, bad commands get
the usage line."""

import importlib.util

from benchmarks import __main__ as bench_cli
from cnnviz import __main__ as cli


def test_every_benchmark_module_exists():
    for name, module in bench_cli.BENCHMARKS.items():
        assert importlib.util.find_spec(module) is not None, name


def test_unknown_commands_print_usage(capsys):
    assert cli.main([]) == 2
    assert cli.main(["fly"]) == 2
    assert bench_cli.main([]) == 2
    assert bench_cli.main(["nope"]) == 2
    assert "NAME: ops, explorer, train, draw, browser" in capsys.readouterr().err
