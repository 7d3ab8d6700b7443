"""Server time per control change on the explorer's pages, for one 28x28 MNIST digit.

Each page runs headless (streamlit.testing AppTest, the same script run a browser triggers); after a
warm-up run, every control change is one timed rerun of the whole page script, figures included.
Target: well under 0.5 s per change. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.ops import cpu_description

if TYPE_CHECKING:  # Streamlit is imported when the benchmark runs: cnnviz modules stay without it
    from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
Change = tuple[str, Callable[["AppTest"], object]]

CHANGES: dict[str, list[Change]] = {
    "convolution": [
        (
            "preset Gaussian blur",
            lambda at: at.selectbox(key="_w_preset_0").set_value("Gaussian blur"),
        ),
        ("padding same", lambda at: at.radio(key="_w_padding").set_value("same")),
        (
            "stride (2, 2)",
            lambda at: (
                at.number_input(key="_w_stride_h").set_value(2),
                at.number_input(key="_w_stride_w").set_value(2),
            ),
        ),
        ("kernel size 5", lambda at: at.select_slider(key="_w_ksize").set_value(5)),
        ("6 filters", lambda at: at.slider(key="_w_filters").set_value(6)),
        ("activation relu", lambda at: at.selectbox(key="_w_activation").set_value("relu")),
        ("step position", lambda at: at.slider(key="_w_conv_step_i").set_value(3)),
        ("walk the window (on)", lambda at: at.toggle(key="conv_sweep").set_value(True)),
        ("next digit", lambda at: at.number_input(key="_w_index").set_value(1)),
    ],
    "pooling": [
        ("mode avg", lambda at: at.radio(key="_w_pool_mode").set_value("avg")),
        (
            "window 3x3",
            lambda at: (
                at.number_input(key="_w_pool_kh").set_value(3),
                at.number_input(key="_w_pool_kw").set_value(3),
            ),
        ),
        ("stride 1", lambda at: at.number_input(key="_w_pool_stride_h").set_value(1)),
        ("step position", lambda at: at.slider(key="_w_pool_step_j").set_value(2)),
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


def machine() -> str:
    """cpu_description() and the Streamlit and Plotly versions."""
    import plotly
    import streamlit

    return f"{cpu_description()}, Streamlit {streamlit.__version__}, Plotly {plotly.__version__}"


def time_page(name: str, repeats: int) -> list[tuple[str, float]]:
    """(change, best seconds over `repeats` fresh sessions) for each control change of page `name`."""
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
    parser = argparse.ArgumentParser(prog="python -m cnnviz bench explorer", description=__doc__)
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh sessions per page (best is kept)"
    )
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}\n")
    print("| page | control change | server time (ms) |")
    print("|---|---|---:|")
    summary = []
    for name in CHANGES:
        timings = time_page(name, args.repeats)
        for label, seconds in timings:
            print(f"| {name} | {label} | {seconds * 1e3:.0f} |", flush=True)
        seconds = [s for _, s in timings]
        summary.append(
            f"{name}: median {statistics.median(seconds) * 1e3:.0f} ms, "
            f"slowest {max(seconds) * 1e3:.0f} ms"
        )
    print("\n" + "\n".join(summary))
    return 0
