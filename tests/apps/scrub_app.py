"""A tiny Streamlit script that mounts the scrub component (tests/test_scrub.py): ?kind=conv or
pool; the settings the component returns are shown as JSON under the heading "settings"."""

import json

import numpy as np
import streamlit as st

from cnnviz.nn import kernels
from cnnviz.ui.scrub import scrub_conv, scrub_pool

IMAGE = np.add.outer(np.arange(12.0), np.arange(10.0)) % 7  # 12 x 10, with ties for max pooling
PRESETS = ("Sobel left", "Gaussian blur")

if st.query_params.get("kind", "conv") == "conv":
    settings = scrub_conv(
        IMAGE,
        [kernels.preset_kernel(name) for name in PRESETS],
        {"presets": list(PRESETS)},
        presets={name: kernels.preset_kernel(name) for name in kernels.PRESETS
                 if 3 in kernels.PRESET_SIZES[name]},
        key="conv",
    )
else:
    settings = scrub_pool(IMAGE, {"mode": "max"}, key="pool")
st.subheader("settings")
st.code(json.dumps(settings, sort_keys=True), language="json")
