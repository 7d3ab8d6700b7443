"""What every benchmark shares: its command line's start, the machine line, the final JSON line."""

import argparse
import json
import os
import platform

import numpy as np


def argument_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The parser of `python -m benchmarks NAME`, with --json already on it."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {name}", description=description)
    parser.add_argument("--json", action="store_true",
                        help="after the Markdown, print one last line: the figures as JSON")
    return parser


def machine(**versions: str) -> str:
    """This machine's CPU model and cores, Python's and NumPy's versions, then `versions`.

    machine(TensorFlow="2.21.0")
    -> "AMD EPYC, 2 cores; Python 3.11.7, NumPy 2.4.6, TensorFlow 2.21.0"
    """
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    named = "".join(f", {package} {version}" for package, version in versions.items())
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__}{named}")


def print_json_line(figures: dict) -> None:
    """Print `figures` as one line of strict JSON (NumPy scalars as numbers): the last line."""
    print(json.dumps(figures, allow_nan=False, default=_number), flush=True)


def _number(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} {value!r} is not a figure: give numbers, strings, "
                    "lists or dicts")
