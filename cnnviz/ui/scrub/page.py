"""The Convolution and Pooling pages' side of the scrub component: the settings it starts from
(session state, else the link, else the defaults) and where its settles are kept.

The component holds the controls a student scrubs (padding, stride, bias, activation, kernels,
presets, the output cell; mode, window, stride for pooling). Their settled values are kept under
the same plain session names and link parameters the widgets used ("padding", "stride_h",
"preset_0", "pool_kh", ...), so links, "Show this to the class" and the Backpropagation page's
widgets read the same settings. Only the layer's shape (filters, kernel size, seed) and the image
stay Streamlit widgets: the component has no control for them.
"""

import numpy as np
import streamlit as st

from cnnviz.nn import kernels, ops
from cnnviz.ui.inputs import InputImage
from cnnviz.ui.layers import (
    ACTIVATIONS,
    DEFAULT_PRESETS,
    PADDINGS,
    ConvLayer,
    available_presets,
    current_kernel,
    kernel_size_ui,
    strongest,
)
from cnnviz.ui.scrub import scrub_conv, scrub_pool
from cnnviz.ui.scrub.settings import BIAS_LINK, PADS, STRIDES, WINDOWS, conv_padding
from cnnviz.ui.settings import guarded, published, restored, synced_widget

CONV_KEY, POOL_KEY = "conv_scrub", "pool_scrub"  # the components' keys (tests settle through them)
EDITED = " (edited)"


def _conv_shape_ui() -> tuple[int, int, int]:
    """Sidebar: (filters, kernel size, seed), the settings the component has no control for."""
    with st.sidebar:
        st.header("Convolution layer")
        n_filters = synced_widget(
            st.slider, "Filters", "filters", 1, bounds=(1, kernels.MAX_FILTERS)
        )
        size = kernel_size_ui()
        seed = synced_widget(
            st.number_input, "Seed (random kernels)", "seed", 0, bounds=(0, 10**6), step=1
        )
    return n_filters, size, seed


def _conv_start(image: InputImage, n_filters: int, size: int, seed: int) -> dict:
    """The settings the component starts from, with "kernels"; ValueError when NumPy would refuse
    them (a kernel larger than the padded input)."""
    c_prev, presets = image.pixels.shape[2], available_presets(size)
    defaults = list(dict.fromkeys([p for p in DEFAULT_PRESETS if p in presets] + presets))
    grids, labels = [], []
    for f in range(n_filters):
        preset = restored(f"preset_{f}", defaults[f % len(defaults)], options=presets)
        grids.append(current_kernel(f, preset, size, seed + f, c_prev))
        originals = [kernels.preset_kernel(preset, size, seed=s, fan_in_channels=c_prev)
                     for s in (seed + f, seed)]  # its own, or the component's preset picker's
        same = any(np.array_equal(grids[-1], original) for original in originals)
        labels.append(preset if same else preset + EDITED)
    padding = restored("padding", "valid", options=PADDINGS)
    settings = {
        "padding": padding,
        "pad": [restored("pad_h", 1, bounds=PADS), restored("pad_w", 1, bounds=PADS)],
        "stride": [restored("stride_h", 1, bounds=STRIDES),
                   restored("stride_w", 1, bounds=STRIDES)],
        "bias": restored("bias", 0.0, bounds=BIAS_LINK),
        "activation": restored("activation", "none", options=ACTIVATIONS),
        "presets": labels,
        "kernels": [g.tolist() for g in grids],
        "position": st.session_state.get("conv_position"),
    }
    W = kernels.layer_weights(grids, c_prev)
    A = ops.conv_forward(image.pixels[None], W, np.zeros((1, 1, 1, n_filters)),
                         "none", conv_padding(settings), tuple(settings["stride"]))[0]
    if settings["position"] is None:  # first the cell of filter 1 that answers most
        settings["position"] = [*strongest(A[:, :, 0]), 0]
    return settings


def _keep_conv(settled: dict, size: int, seed: int, c_prev: int) -> None:
    """The component's settled settings become the page's persistent ones (and the link's)."""
    state = st.session_state
    for name, value in (("padding", settled["padding"]), ("pad_h", settled["pad"][0]),
                        ("pad_w", settled["pad"][1]), ("stride_h", settled["stride"][0]),
                        ("stride_w", settled["stride"][1]), ("bias", float(settled["bias"])),
                        ("activation", settled["activation"])):
        published(name, value)
    for f, (grid, label) in enumerate(zip(settled["kernels"], settled["presets"])):
        preset = published(f"preset_{f}", label.removesuffix(EDITED))
        state[f"kernel_{f}"] = np.asarray(grid, dtype=float)  # the kernel drawn is the one used
        state[f"kernel_source_{f}"] = (preset, size, seed + f, c_prev)
    state["conv_position"] = settled["position"]


def conv_scrub_ui(image: InputImage) -> tuple[ConvLayer, tuple[int, int, int]]:
    """The layer's shape in the sidebar, then the component (input, output maps, window and the
    controls a student scrubs). Returns (the layer as settled, the output cell (i, j, filter))."""
    shape = _conv_shape_ui()
    (image, *shape), settings = guarded(_conv_start, image, *shape, name="conv")
    n_filters, size, seed = shape
    c_prev = image.pixels.shape[2]
    if c_prev > 1:
        st.caption(f"Each kernel reads the {c_prev} channels alike, so the maps are the kernel "
                   "over their sum: the input drawn below.")
    offered = {name: kernels.preset_kernel(name, size, seed=seed, fan_in_channels=c_prev)
               for name in available_presets(size)}
    settled = scrub_conv(image.pixels.sum(axis=2), settings.pop("kernels"), settings,
                         presets=offered, key=CONV_KEY)
    _keep_conv(settled, size, seed, c_prev)
    grids = [np.asarray(g, dtype=float) for g in settled["kernels"]]
    W = kernels.layer_weights(grids, c_prev)
    stride = tuple(settled["stride"])
    pads = ops.resolve_padding(conv_padding(settled), image.pixels.shape[:2], W.shape[:2], stride)
    b = np.full((1, 1, 1, n_filters), settled["bias"])
    layer = ConvLayer(W, b, pads, stride, settled["activation"], tuple(settled["presets"]))
    return layer, tuple(settled["position"])


def _pool_start(image: InputImage, channel: int) -> dict:
    """The pooling settings the component starts from; ValueError for a window larger than the
    image."""
    settings = {
        "mode": restored("pool_mode", "max", options=("max", "avg")),
        "window": [restored("pool_kh", 2, bounds=WINDOWS), restored("pool_kw", 2, bounds=WINDOWS)],
        "stride": [restored("pool_stride_h", 2, bounds=STRIDES),
                   restored("pool_stride_w", 2, bounds=STRIDES)],
        "position": st.session_state.get("pool_position"),
    }
    A = ops.pool_forward(image.pixels[None, :, :, channel:channel + 1], tuple(settings["window"]),
                         tuple(settings["stride"]), settings["mode"])[0]
    if settings["position"] is None:
        settings["position"] = list(strongest(A[:, :, 0]))
    return settings


def pool_scrub_ui(image: InputImage):
    """The component for one channel of the image (a channel picker for colour images). Returns
    (window (kh, kw), stride (sh, sw), mode, the output cell (i, j, channel)) as settled."""
    channel = 0
    if image.pixels.shape[2] > 1:
        channel = st.radio("Channel pooled", range(image.pixels.shape[2]), horizontal=True,
                           format_func=lambda c: image.channel_names[c], key="pool_channel")
    (image, channel), settings = guarded(_pool_start, image, channel, name="pool")
    settled = scrub_pool(image.pixels[:, :, channel], settings, key=POOL_KEY)
    for name, value in (("pool_mode", settled["mode"]), ("pool_kh", settled["window"][0]),
                        ("pool_kw", settled["window"][1]),
                        ("pool_stride_h", settled["stride"][0]),
                        ("pool_stride_w", settled["stride"][1])):
        published(name, value)
    st.session_state["pool_position"] = settled["position"]
    return (tuple(settled["window"]), tuple(settled["stride"]), settled["mode"],
            (*settled["position"], channel))
