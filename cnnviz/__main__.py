"""Command line: `python -m cnnviz bench NAME ...` and `python -m cnnviz train ...`.

Each benchmark lives in `cnnviz/bench_<NAME>.py` and each command's module exposes `main(argv)`,
so that a command imports only what it needs (TensorFlow stays out of `bench ops --no-tf`).
"""

import importlib
import sys

COMMANDS = {"bench": None, "train": "cnnviz.train"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m cnnviz {bench NAME | train} [options]  (NAME: ops, explorer, train)",
              file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        if not rest or rest[0].startswith("-"):
            print("usage: python -m cnnviz bench NAME [options]", file=sys.stderr)
            return 2
        try:
            module = importlib.import_module(f"cnnviz.bench_{rest[0]}")
        except ModuleNotFoundError:
            print(f"unknown benchmark {rest[0]!r}", file=sys.stderr)
            return 2
        return module.main(rest[1:]) or 0
    return importlib.import_module(COMMANDS[command]).main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
