"""A tiny Streamlit script that mounts the scrub component (tests/test_scrub.py): ?kind=conv or
pool; the settings the component returns are shown as JSON under the heading "settings".

As a page will, it keeps the returned settings and passes them back on the next run, so the
component receives the echo of its own settle.
"""

import json

import numpy as np
import streamlit as st

from cnnviz.nn import kernels
from cnnviz.ui.scrub import scrub_conv, scrub_pool

IMAGE = np.add.outer(np.arange(12.0), np.arange(10.0)) % 7  # 12 x 10, with ties for max pooling
PRESETS = ("Sobel left", "Gaussian blur")

kept = st.session_state.get("settings")
if st.query_params.get("kind", "conv") == "conv":
    settings = scrub_conv(
        IMAGE,
        kept["kernels"] if kept else [kernels.preset_kernel(name) for name in PRESETS],
        kept or {"presets": list(PRESETS)},
        presets={name: kernels.preset_kernel(name) for name in kernels.PRESETS
                 if 3 in kernels.PRESET_SIZES[name]},
        key="conv",
    )
else:
    settings = scrub_pool(IMAGE, kept or {"mode": "max"}, key="pool")
st.session_state["settings"] = settings
st.subheader("settings")
st.code(json.dumps(settings, sort_keys=True), language="json")
