"""Streamlit widgets shared by the app's pages (the only cnnviz package that imports streamlit).

settings: widgets bound to persistent, linkable settings, the session keys two pages read, and
`guarded`; inputs: the explorer's input image; layers: the layer settings and step-through
position. The pages use them as `ui.<name>`.
"""

import importlib
import threading

import streamlit as st

from cnnviz.ui.inputs import COURSE_GRID, SOURCES, InputImage, dataset, input_picker
from cnnviz.ui.layers import (
    ACTIVATIONS,
    DEFAULT_PRESETS,
    PADDINGS,
    ConvLayer,
    available_presets,
    clicked_cell,
    conv_layer_ui,
    kernel_size_ui,
    padding_ui,
    pool_ui,
    position_ui,
    select_position,
    stride_ui,
    strongest,
)
from cnnviz.ui.settings import (
    DATASET_KEY,
    TRAINED_MODEL_KEY,
    guarded,
    set_setting,
    synced_choice,
    synced_number,
)

__all__ = ["ACTIVATIONS", "COURSE_GRID", "DATASET_KEY", "DEFAULT_PRESETS", "PADDINGS", "SOURCES",
           "TRAINED_MODEL_KEY", "WARM_UP_MODULES", "ConvLayer", "InputImage", "available_presets",
           "clicked_cell", "conv_layer_ui", "dataset", "guarded", "input_picker", "kernel_size_ui",
           "padding_ui", "pool_ui", "position_ui", "select_position", "set_setting", "stride_ui",
           "strongest", "synced_choice", "synced_number", "warm_up"]

# What the pages import on their first visit beyond the home page's needs: pandas and pyarrow for
# the kernel editor (st.data_editor), the figures, LeNet-5 and the canvas of the Draw page.
WARM_UP_MODULES = ("pandas", "pyarrow", "cnnviz.nn.explain", "cnnviz.figures", "cnnviz.nn.lenet",
                   "streamlit_drawable_canvas")


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import WARM_UP_MODULES once per server, on a background thread started after the first page
    is drawn, so a student's next page does not wait for them (pandas alone takes 0.5-4 s)."""
    thread = threading.Thread(
        target=lambda: [importlib.import_module(name) for name in WARM_UP_MODULES],
        name="cnnviz-warm-up",
        daemon=True,
    )
    thread.start()
    return thread
