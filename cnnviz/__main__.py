"""Command line: `python -m cnnviz train ...`, `python -m cnnviz check PATH.py ...` (benchmarks:
`python -m benchmarks NAME`)."""

import importlib
import sys

USAGE = "usage: python -m cnnviz {train,check} [options]"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        return importlib.import_module("cnnviz.train").main(argv[1:]) or 0
    if argv[:1] == ["check"]:
        return importlib.import_module("cnnviz.check.cli").main(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
