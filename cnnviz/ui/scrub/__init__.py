"""Scrub: the forward convolution and pooling computed and drawn in the browser (issue 23).

A Streamlit Components v2 component. Its JavaScript (assets/conv.js: the math, checked against
cnnviz.nn.ops by tests/test_scrub_js.py; assets/scrub.js: controls and drawing, Plotly.js for the
input's heatmap and both plots' axes and outlines, the maps' hover and click read from the cells
painted; assets/paint.js: the output maps' cells painted on a canvas behind Plotly's axes, in
Plotly.js's colours, with their titles and ticks, so new values replot nothing) recomputes
the maps as the student edits a kernel cell, picks a preset, drags stride, padding, bias or the
output cell, or plays the window across the image, with no round trip to the server.
The settings come back to Python when the student settles (on release, or debounced), and the
page computes the rest (backward pass, formula, links) from them with NumPy.

    settings = scrub_conv(image, kernels, settings, presets=..., key="conv_scrub")
    settings = scrub_pool(image, settings, key="pool_scrub")

The assets are declared in cnnviz/pyproject.toml, the manifest Streamlit scans in an installed
cnnviz. The app also runs from a checkout, where nothing is installed to scan, so the same
manifest is registered here when Streamlit did not find it. Plotly.js is the component's own
bundle, assets/vendor/plotly-cartesian.min.js (Plotly's partial "cartesian" build, with heatmaps;
a third of the full plotly.min.js, so a first visit parses a third as much; where it comes from:
assets/vendor/README.md): served by Streamlit with the other assets, no CDN, no network.
"""

import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

from cnnviz.ui.scrub.settings import BOUNDS, conv_settings, pool_settings

__all__ = ["ASSETS", "NAME", "conv_settings", "pool_settings", "scrub_conv", "scrub_pool",
           "settled_key"]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # cnnviz/: asset_dir is relative to it
MANIFEST = PACKAGE_ROOT / "pyproject.toml"
ASSETS = Path(__file__).resolve().parent / "assets"
NAME = "cnnviz.scrub"  # "<project name>.<component name>", as Streamlit looks it up
HTML = '<div class="cnnviz-scrub" data-testid="cnnviz-scrub"></div>'


def _register_manifest() -> None:
    """Declare cnnviz/pyproject.toml's components to the running Streamlit, unless it found them
    (an installed cnnviz) or this is a checkout already declared (each AppTest has its own)."""
    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(NAME) is not None:
        return
    manifest = tomllib.loads(MANIFEST.read_text())
    components = manifest["tool"]["streamlit"]["component"]["components"]
    declared = ComponentManifest(
        name=manifest["project"]["name"],
        version="checkout",
        components=[ComponentConfig.from_dict(entry) for entry in components],
    )
    manager.register_from_manifest(declared, PACKAGE_ROOT)


_renderers: list = []  # the mount callable, made once a script runs (Streamlit's runtime is up)


def _renderer():
    """The component's mount callable, its manifest declared to the running Streamlit."""
    _register_manifest()
    if not _renderers:
        _renderers.append(st.components.v2.component(
            NAME, html=HTML, js="scrub.js", css="scrub.css", isolate_styles=False
        ))  # unisolated: Plotly.js styles its charts through the document's head
    return _renderers[0]


def settled_key(key: str) -> str:
    """The session key holding the settle of component `key` until the run it caused takes it
    (tests put a settle there, as the browser's would arrive)."""
    return f"_scrub_settled_{key}"


def _mount(kind: str, data: dict, settings: dict, key: str, check: Callable) -> dict:
    """Mount the component with `settings`, or with the student's settle that caused this run.

    The settle is taken in the component's callback, before the script runs, so this run's data
    already holds it: the browser sees its own settings echoed back (and keeps what it drew)
    instead of the page's older ones. check(settled) -> settings, ValueError if they are bad:
    then the message is shown and the page's settings stay.
    """
    def on_settle() -> None:
        st.session_state[settled_key(key)] = st.session_state[key]["settings"]

    settled = st.session_state.pop(settled_key(key), None)
    if settled is not None:
        try:
            settings = check(settled)
        except ValueError as error:
            st.error(f"{error}. The last good settings stay.")
    _renderer()(
        key=key,
        data={"kind": kind, **data, "settings": settings, "bounds": BOUNDS},
        default={"settings": None},
        on_settings_change=on_settle,
    )
    return settings


def scrub_conv(
    image: np.ndarray,
    kernels: Sequence[np.ndarray],
    settings: Mapping,
    *,
    presets: Mapping[str, np.ndarray] | None = None,
    key: str = "conv_scrub",
) -> dict:
    """The Convolution page's input, output maps and step-through window, drawn in the browser.

    image (h, w) grayscale; kernels: 1 to 6 (k, k) kernels; settings: padding ("valid", "same"
    or "explicit" with pad (ph, pw)), stride (sh, sw), bias, activation, position (i, j, f) and
    the filters' preset labels (see conv_settings for the defaults); presets: kernels by name,
    offered in the component's preset picker. Returns the settings to use: the student's settle
    when one caused this run, else `settings`, completed and with "kernels" (lists).
    ValueError naming the bad argument when `image`, `kernels` or `settings` are bad.
    """
    image, settings = conv_settings(image, kernels, settings)
    offered = {name: np.asarray(k, dtype=float).tolist() for name, k in (presets or {}).items()}
    data = {"image": image.tolist(), "presets": offered}
    return _mount("conv", data, settings, key, lambda s: conv_settings(image, s["kernels"], s)[1])


def scrub_pool(image: np.ndarray, settings: Mapping, *, key: str = "pool_scrub") -> dict:
    """The Pooling page's input, output map and window, drawn in the browser.

    image (h, w); settings: mode ("max" or "avg"), window (kh, kw), stride (sh, sw), position
    (i, j) (see pool_settings for the defaults). Returns the settings to use: the student's
    settle when one caused this run, else `settings`, completed.
    """
    image, settings = pool_settings(image, settings)
    data = {"image": image.tolist()}
    return _mount("pool", data, settings, key, lambda s: pool_settings(image, s)[1])
