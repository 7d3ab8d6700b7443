"""Streamlit widgets shared by the app's pages (the only cnnviz package that imports streamlit).

settings: widgets bound to persistent, linkable settings, the session keys two pages read, and
`guarded`; inputs: the explorer's input image; layers: the layer settings and step-through
position. The pages use them as `ui.<name>`.
"""

import contextlib
import importlib
import logging
import threading
from pathlib import Path

import streamlit as st
from streamlit import runtime

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
from cnnviz.ui.scrub.page import conv_scrub_ui, pool_scrub_ui
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
           "clicked_cell", "conv_layer_ui", "conv_scrub_ui", "dataset", "guarded", "input_picker",
           "kernel_size_ui", "padding_ui", "pool_scrub_ui", "pool_ui", "position_ui",
           "select_position", "set_setting", "stride_ui", "strongest", "synced_choice",
           "synced_number", "warm_up"]

# What the pages import on their first visit beyond the home page's needs: pandas and pyarrow for
# the tables (st.dataframe), the figures, LeNet-5 and the canvas of the Draw page. pandas, the
# longest, first: begun right after the first page, it is the likeliest to be done when a second
# page comes (with the quick ones first, the Convolution page opened after home waited behind it).
WARM_UP_MODULES = ("pandas", "pyarrow", "cnnviz.nn.explain", "cnnviz.figures", "cnnviz.nn.lenet",
                   "streamlit_drawable_canvas")
# The canvas declares its component when imported, and a component's files are known only to a
# running Streamlit Runtime (it reads the installed packages' manifests when it starts): without
# one (AppTest, bare mode) the import raises, so the warm-up leaves it to the Draw page.
NEEDS_RUNTIME = frozenset({"streamlit_drawable_canvas"})

# A module being imported is in sys.modules before it is complete, and libraries look there
# (plotly takes `sys.modules["pandas"]` to test for pd.Series), so no page may run while the
# warm-up imports: pages count themselves in and wait while the warm-up holds the lock; the
# warm-up takes it, one module at a time, only when no page runs or waits. A waiting page says so
# first (_waiting_pages): a lock is not fair, and the warm-up, taking it again at once after a
# module, would otherwise win it over the page for every module of the list.
_GATE = threading.Condition()
_COUNT = threading.Lock()  # guards _waiting_pages, which a page changes without holding _GATE
_running_pages = 0
_waiting_pages = 0

# The tab's icon, served by the app itself: a Material icon as page_icon makes every browser
# fetch the favicon from fonts.gstatic.com, and a page must not reach outside the server.
ICON = Path(__file__).with_name("icon.png")


@contextlib.contextmanager
def page_run():
    """Run a page (app.py wraps st.navigation's run): waits while the warm-up imports a module."""
    global _running_pages, _waiting_pages
    with _COUNT:
        _waiting_pages += 1
    with _GATE:
        _running_pages += 1
        with _COUNT:
            _waiting_pages -= 1
    try:
        yield
    finally:
        with _GATE:
            _running_pages -= 1
            _GATE.notify_all()


def _import_warm_up_modules() -> None:
    for name in WARM_UP_MODULES:
        if name in NEEDS_RUNTIME and not runtime.exists():
            continue
        # The gate is taken per module, not for the whole list: a page opened meanwhile (the
        # student's second page, seconds after the first) waits for one import, not all of them.
        with _GATE:
            _GATE.wait_for(lambda: _running_pages == 0 and _waiting_pages == 0)
            try:
                importlib.import_module(name)
            except Exception:  # the page that needs it imports it again and shows the error
                logging.getLogger(__name__).warning("warm-up: importing %s failed", name,
                                                    exc_info=True)


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import WARM_UP_MODULES once per server, on a background thread started after the first page
    is drawn, so a student's next page does not wait for them (pandas alone is slow to import)."""
    thread = threading.Thread(target=_import_warm_up_modules, name="cnnviz-warm-up", daemon=True)
    thread.start()
    return thread
