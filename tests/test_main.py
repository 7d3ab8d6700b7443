"""`python -m cnnviz`: every listed benchmark exists and bad commands get the usage line."""

import importlib.util

from cnnviz import __main__ as cli


def test_every_benchmark_module_exists():
    for name, module in cli.BENCHMARKS.items():
        assert importlib.util.find_spec(module) is not None, name


def test_unknown_commands_print_usage(capsys):
    assert cli.main([]) == 2
    assert cli.main(["bench", "nope"]) == 2
    assert cli.main(["fly"]) == 2
    assert "NAME: ops, explorer, train, draw, browser" in capsys.readouterr().err
