"""Server time per control change on the explorer's pages, for one 28x28 MNIST digit.

Each page runs headless (streamlit.testing AppTest, the same script run a browser triggers); after a
warm-up run, every control change is one timed rerun of the whole page script, figures included.
Target: well under 0.5 s per change. Prints a Markdown table for BENCHMARKS.md.
`python -m benchmarks explorer [--json]`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import scrubbing
from benchmarks.common import argument_parser, machine, print_json_line
from cnnviz.nn import kernels

if TYPE_CHECKING:  # Streamlit is imported when the benchmark runs: cnnviz modules stay without it
    from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
Change = tuple[str, Callable[["AppTest"], object]]

CHANGES: dict[str, list[Change]] = {
    "convolution": [  # the scrub component's changes reach the server as settles
        ("preset Gaussian blur", lambda at: scrubbing.settle_kernel(
            at, 0, kernels.preset_kernel("Gaussian blur").tolist(), "Gaussian blur", run=False)),
        ("padding same", lambda at: scrubbing.settle(at, run=False, padding="same")),
        ("stride (2, 2)", lambda at: scrubbing.settle(at, run=False, stride=[2, 2])),
        ("kernel size 5", lambda at: at.select_slider(key="_w_ksize").set_value(5)),
        ("6 filters", lambda at: at.slider(key="_w_filters").set_value(6)),
        ("activation relu", lambda at: scrubbing.settle(at, run=False, activation="relu")),
        ("step position", lambda at: scrubbing.settle(at, run=False, position=[3, 4, 0])),
        ("next digit", lambda at: at.number_input(key="_w_index").set_value(1)),
    ],
    "pooling": [
        ("mode avg", lambda at: scrubbing.settle(at, "pool", run=False, mode="avg")),
        ("window 3x3", lambda at: scrubbing.settle(at, "pool", run=False, window=[3, 3])),
        ("stride 1", lambda at: scrubbing.settle(at, "pool", run=False, stride=[1, 2])),
        ("step position", lambda at: scrubbing.settle(at, "pool", run=False, position=[3, 2])),
        ("next digit", lambda at: at.number_input(key="_w_index").set_value(1)),
    ],
    "backprop": [
        ("dZ random", lambda at: at.radio(key="_w_dz").set_value("random")),
        ("dZ impulse", lambda at: at.radio(key="_w_dz").set_value("impulse")),
        ("dZ target kernel", lambda at: at.radio(key="_w_dz").set_value("target kernel")),
        (
            "stride (2, 2)",
            lambda at: (
                at.number_input(key="_w_stride_h").set_value(2),
                at.number_input(key="_w_stride_w").set_value(2),
            ),
        ),
        ("pool dA random", lambda at: at.radio(key="_w_pool_dA").set_value("random")),
        ("next digit", lambda at: at.number_input(key="_w_index").set_value(1)),
    ],
}


def time_page(name: str, repeats: int) -> list[tuple[str, float]]:
    """(change, best seconds over `repeats` fresh sessions) for each control change of page
    `name`."""
    from streamlit.testing.v1 import AppTest

    best: dict[str, float] = {}
    for _ in range(repeats):
        at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120).run()
        for label, change in CHANGES[name]:
            change(at)
            start = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - start
            if at.exception:
                raise RuntimeError(f"{name}, {label}: {at.exception[0].message}")
            best[label] = min(best.get(label, elapsed), elapsed)
    return list(best.items())


def main(argv: list[str]) -> int:
    parser = argument_parser("explorer", __doc__)
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh sessions per page (best is kept)"
    )
    args = parser.parse_args(argv)
    import plotly
    import streamlit

    machine_line = machine(Streamlit=streamlit.__version__, Plotly=plotly.__version__)
    print(f"Machine: {machine_line}\n")
    print("| page | control change | server time (ms) |")
    print("|---|---|---:|")
    summary, pages = [], {}
    for name in CHANGES:
        timings = time_page(name, args.repeats)
        for label, seconds in timings:
            print(f"| {name} | {label} | {seconds * 1e3:.0f} |", flush=True)
        milliseconds = [s * 1e3 for _, s in timings]
        p50, slowest = statistics.median(milliseconds), max(milliseconds)
        summary.append(f"{name}: median {p50:.0f} ms, slowest {slowest:.0f} ms")
        pages[name] = {"p50_ms": p50, "max_ms": slowest,
                       "changes_ms": {label: s * 1e3 for label, s in timings}}
    print("\n" + "\n".join(summary))
    if args.json:
        print_json_line({"benchmark": "explorer", "machine": machine_line, "repeats": args.repeats,
                         "pages": pages})
    return 0
