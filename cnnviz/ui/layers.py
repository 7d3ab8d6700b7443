"""Layer settings in the sidebar (convolution, kernels, pooling) and the step-through position."""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.nn import kernels, ops
from cnnviz.ui.inputs import InputImage
from cnnviz.ui.settings import set_setting, synced_widget

PADDINGS = ("valid", "same", "explicit")
ACTIVATIONS = tuple(ops.ACTIVATIONS)
DEFAULT_PRESETS = (
    "Sobel left",
    "Sobel top",
    "Gaussian blur",
    "outline (Laplacian)",
    "sharpen",
    "emboss",
)


@dataclass(frozen=True)
class ConvLayer:
    """W (kh, kw, c_prev, c_new), b (1, 1, 1, c_new) and the padding as pads ((top, bottom),
    (left, right)), resolved once for the input image; ops and explain take pads as they are."""

    W: np.ndarray
    b: np.ndarray
    pads: ops.Pads
    stride: tuple[int, int]
    activation: str
    presets: tuple[str, ...]  # one label per filter: its preset, "(edited)" after hand edits


def kernel_size_ui() -> int:
    """Kernel size k (k x k) shared by the layer's filters."""
    return synced_widget(st.select_slider, "Kernel size", "ksize", 3, options=kernels.ALL_SIZES)


def available_presets(size: int) -> list[str]:
    """Presets that exist at this kernel size (sharpen, outline, emboss are 3x3 only)."""
    return [name for name in kernels.PRESETS if size in kernels.PRESET_SIZES[name]]


def _pair_ui(
    labels: tuple[str, str], names: tuple[str, str], default: int, bounds
) -> tuple[int, int]:
    """Two integer inputs side by side (a height and a width), each a persistent setting."""
    columns = st.columns(2)
    values = []
    for column, label, name in zip(columns, labels, names):
        with column:
            values.append(
                synced_widget(st.number_input, label, name, default, bounds=bounds, step=1)
            )
    return values[0], values[1]


def stride_ui() -> tuple[int, int]:
    """Stride (sh, sw) of the convolution."""
    return _pair_ui(("Stride sh", "Stride sw"), ("stride_h", "stride_w"), 1, (1, 7))


def padding_ui():
    """The padding argument of the ops: "valid", "same" or explicit (ph, pw)."""
    kind = synced_widget(st.radio, "Padding", "padding", "valid", options=PADDINGS, horizontal=True)
    if kind != "explicit":
        return kind
    labels = ("ph (rows each side)", "pw (columns each side)")
    return _pair_ui(labels, ("pad_h", "pad_w"), 1, (0, 10))


def conv_layer_ui(input_image: InputImage) -> ConvLayer:
    """Sidebar layer settings; each filter's kernel is its preset, or its last edit on the
    Convolution page (cnnviz/ui/scrub/page.py keeps them in session state)."""
    c_prev = input_image.pixels.shape[2]
    with st.sidebar:
        st.header("Convolution layer")
        n_filters = synced_widget(
            st.slider, "Filters", "filters", 1, bounds=(1, kernels.MAX_FILTERS)
        )
        size = kernel_size_ui()
        padding = padding_ui()
        stride = stride_ui()
        bias = synced_widget(
            st.number_input, "Bias b (every filter)", "bias", 0.0, step=0.1, format="%.2f"
        )
        activation = synced_widget(
            st.selectbox, "Activation", "activation", "none", options=ACTIVATIONS
        )
        seed = synced_widget(
            st.number_input, "Seed (random kernels)", "seed", 0, bounds=(0, 10**6), step=1
        )
    presets = available_presets(size)
    defaults = list(dict.fromkeys([p for p in DEFAULT_PRESETS if p in presets] + presets))
    grids, labels = [], []
    for f in range(n_filters):  # the kernels the Convolution page's scrub component settled
        preset = st.session_state.get(f"preset_{f}", defaults[f % len(defaults)])
        preset = preset if preset in presets else presets[0]
        grids.append(current_kernel(f, preset, size, seed + f, c_prev))
        original = kernels.preset_kernel(preset, size, seed=seed + f, fan_in_channels=c_prev)
        labels.append(preset if np.array_equal(grids[-1], original) else f"{preset} (edited)")
    W = kernels.layer_weights(grids, c_prev)
    b = np.full((1, 1, 1, n_filters), float(bias))
    pads = ops.resolve_padding(padding, input_image.pixels.shape[:2], W.shape[:2], stride)
    return ConvLayer(W, b, pads, stride, activation, tuple(labels))


def current_kernel(f: int, preset: str, size: int, seed: int, c_prev: int) -> np.ndarray:
    """Filter f's current 2-D kernel: its last good edit, or the preset when the preset changed."""
    state, source = st.session_state, (preset, size, seed, c_prev)
    if state.get(f"kernel_source_{f}") != source:
        state[f"kernel_{f}"] = kernels.preset_kernel(
            preset, size, seed=seed, fan_in_channels=c_prev
        )
        state[f"kernel_source_{f}"] = source
    return state[f"kernel_{f}"]


def pool_ui() -> tuple[tuple[int, int], tuple[int, int], str]:
    """Sidebar pooling settings: (kernel (kh, kw), stride (sh, sw), mode)."""
    with st.sidebar:
        st.header("Pooling layer")
        mode = synced_widget(
            st.radio, "Mode", "pool_mode", "max", options=("max", "avg"), horizontal=True
        )
        window = _pair_ui(("Window kh", "Window kw"), ("pool_kh", "pool_kw"), 2, (1, 7))
        stride = _pair_ui(("Stride sh", "Stride sw"), ("pool_stride_h", "pool_stride_w"), 2, (1, 7))
    return window, stride, mode


def position_ui(
    label: str, name: str, out_hw, n_channels: int = 1, channel_label: str = "filter", default=None
):
    """Sliders for an output position (i, j) and a filter/channel; kept per page in session state.

    default: the (i, j) shown first (the centre if None). An axis of length 1 needs no slider.
    """
    first = default if default is not None else (out_hw[0] // 2, out_hw[1] // 2)
    position = []
    for axis, size, start in zip(("row i", "column j"), out_hw, first):
        key = f"{name}_{axis[-1]}"
        if size == 1:
            position.append(0)
            continue
        value = synced_widget(
            st.slider, f"{label} {axis}", key, int(start), bounds=(0, size - 1), url=False
        )
        position.append(value)
    f = 0
    if n_channels > 1:
        f = synced_widget(
            st.select_slider,
            channel_label,
            f"{name}_f",
            0,
            options=list(range(n_channels)),
            format_func=lambda k: str(k + 1),
            url=False,
        )
    return position[0], position[1], f


def clicked_cell(points: list[dict]) -> tuple[int, int, int] | None:
    """(i, j, map) of the first clicked click target of figures.maps_figure, or None.

    Streamlit reports a point's customdata (value, map) as a list or as a dict keyed "0", "1".
    """
    if not points or "customdata" not in points[0]:
        return None
    point = points[0]
    customdata = point["customdata"]
    k = customdata[1] if isinstance(customdata, list) else customdata["1"]
    return int(point["y"]), int(point["x"]), int(k)


def select_position(chart_key: str, name: str) -> None:
    """on_select callback of a maps chart: the clicked cell becomes the step-through position."""
    cell = clicked_cell(st.session_state[chart_key].selection.points)
    if cell is None:
        return
    set_setting(f"{name}_i", cell[0])
    set_setting(f"{name}_j", cell[1])
    if f"_w_{name}_f" in st.session_state:  # a filter slider exists only for several maps
        set_setting(f"{name}_f", cell[2])


def strongest(map_2d: np.ndarray) -> tuple[int, int]:
    """(i, j) of the largest |value| of a map: a step-through position worth looking at first."""
    i, j = np.unravel_index(int(np.argmax(np.abs(map_2d))), map_2d.shape)
    return int(i), int(j)
