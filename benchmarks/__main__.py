"""`python -m benchmarks NAME [options]`: run one benchmark (each imported only when it runs)."""

import importlib
import sys

BENCHMARKS = {  # name -> module, in the order BENCHMARKS.md shows them
    "ops": "benchmarks.ops",
    "explorer": "benchmarks.explorer",
    "train": "benchmarks.train",
    "draw": "benchmarks.draw",
    "browser": "benchmarks.browser_latency",  # the helpers it shares with tests/e2e: browser.py
    "scrub-training": "benchmarks.browser_training",  # what slows scrubbing while a run trains
    "architectures": "benchmarks.architectures",
    "classroom-train": "benchmarks.classroom_train",
    "classroom": "benchmarks.classroom",  # its protocol client: streamlit_protocol.py
    "check": "benchmarks.check",
}
USAGE = f"usage: python -m benchmarks NAME [--json] [options]  (NAME: {', '.join(BENCHMARKS)})"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in BENCHMARKS:
        print(USAGE, file=sys.stderr)
        return 2
    return importlib.import_module(BENCHMARKS[argv[0]]).main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
