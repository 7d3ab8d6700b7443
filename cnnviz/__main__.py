"""Command line: `python -m cnnviz bench NAME ...` and `python -m cnnviz train ...`.

Each command's module exposes `main(argv)` and is imported only when its command runs, so a command
loads only what it needs. The explorer's benchmark drives the Streamlit pages, so it lives beside
them in benchmarks/ (run from the repository root) rather than in the Streamlit-free library.
"""

import importlib
import sys

BENCHMARKS = {
    "ops": "cnnviz.bench_ops",
    "explorer": "benchmarks.explorer",
    "train": "cnnviz.bench_train",
    "draw": "cnnviz.bench_draw",
    "browser": "cnnviz.bench_browser",
}
USAGE = f"usage: python -m cnnviz {{bench NAME | train}} [options]  (NAME: {', '.join(BENCHMARKS)})"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        return importlib.import_module("cnnviz.train").main(argv[1:]) or 0
    if argv[:1] == ["bench"] and len(argv) > 1 and argv[1] in BENCHMARKS:
        return importlib.import_module(BENCHMARKS[argv[1]]).main(argv[2:]) or 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
