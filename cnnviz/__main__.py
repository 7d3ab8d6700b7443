"""The `cnnviz` command (also `python -m cnnviz`): `cnnviz app`, `cnnviz train ...`, `cnnviz check`.

Each command's module exposes `main(argv)` and is imported only when its command runs, so a
command loads only what it needs. Benchmarks are not part of the library: `python -m benchmarks`.
"""

import importlib
import sys

COMMANDS = {  # name -> (module, what it does)
    "app": ("cnnviz.serving.launch", "start the Streamlit app"),
    "train": ("cnnviz.training.cli", "train LeNet-5 (Keras, TF1 or NumPy) from the command line"),
    "check": ("cnnviz.check.cli",
              "grade a course solution (0-conv_forward.py ...) against cnnviz.ops"),
}
USAGE = "usage: cnnviz COMMAND [options]\n" + "\n".join(
    f"  {name:<8}{text}" for name, (_, text) in COMMANDS.items()
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]][0]).main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
