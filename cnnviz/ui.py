"""Streamlit widgets shared by the explorer's pages (the only cnnviz module that imports streamlit).

Settings live in st.session_state under plain names ("padding", "stride_h", ...) so they survive
page switches, and the main ones are mirrored in st.query_params so a view can be shared as a link.
Each widget has its own key "_w_<name>"; Streamlit drops a widget's key when its page is left, and
`_synced` restores it from the plain name on return.
"""

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz import data, kernels, ops, upload

COURSE_GRID = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
    dtype=np.float64,
)[:, :, None]  # the course's hand-checkable 5x5 image (h, w, 1)
SOURCES = ("dataset", "upload", "5x5 course grid")
# Session-state keys that more than one page reads (each page's own keys stay in the page).
DATASET_KEY = "dataset"  # the explorer's dataset name, also shown on the home page
TRAINED_MODEL_KEY = "trained_model_path"  # the Training page's model, offered on the Draw page
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


# What the pages import on their first visit beyond the home page's needs: pandas and pyarrow for
# the kernel editor (st.data_editor), the figures, LeNet-5 and the canvas of the Draw page.
WARM_UP_MODULES = ("pandas", "pyarrow", "cnnviz.explain", "cnnviz.figures", "cnnviz.lenet",
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


def _from_url(name: str, default) -> tuple[object, bool]:
    """(value, readable): the query-string value of `name` parsed like `default`; `default` and
    readable=False when it is there but cannot be parsed."""
    raw = st.query_params.get(name)
    if raw is None:
        return default, True
    try:
        return type(default)(raw), True
    except ValueError:
        return default, False


def _synced(
    widget: Callable,
    label: str,
    name: str,
    default,
    *,
    url: bool = True,
    options=None,
    bounds=None,
    **kwargs,
):
    """Render `widget` bound to the persistent setting `name` (restored from the URL on first use).

    A link value that cannot be read or is out of range is replaced by the default, with a warning.
    """
    state = st.session_state
    link_is_good, first_use = True, name not in state
    if first_use:
        state[name], link_is_good = _from_url(name, default) if url else (default, True)
    value = state[name]
    if (options is not None and value not in options) or (
        bounds is not None and not bounds[0] <= value <= bounds[1]
    ):
        link_is_good = link_is_good and not (first_use and url and name in st.query_params)
        value = state[name] = default if options is None or default in options else options[0]
        state.pop(f"_w_{name}", None)
    if not link_is_good:
        allowed = f"{bounds[0]} to {bounds[1]}" if bounds is not None else (
            ", ".join(map(str, options)) if options is not None else f"a {type(default).__name__}")
        st.warning(f"The link's {name}={st.query_params[name]} is not a valid setting (allowed: "
                   f"{allowed}); showing {value} instead.")
    if f"_w_{name}" not in state:
        state[f"_w_{name}"] = value
    if options is not None:
        kwargs["options"] = options
    if bounds is not None:
        kwargs["min_value"], kwargs["max_value"] = bounds
    state[name] = widget(label, key=f"_w_{name}", **kwargs)
    if url and st.query_params.get(name) != str(state[name]):  # each write is a message
        st.query_params[name] = str(state[name])
    return state[name]


def set_setting(name: str, value) -> None:
    """Change a persistent setting and its widget (call from a button's on_click)."""
    st.session_state[name] = st.session_state[f"_w_{name}"] = value


# --- input -------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the dataset…")
def dataset(name: str) -> data.Dataset:
    """The dataset, loaded once per server (read-only arrays shared by every session)."""
    return data.load_dataset(name)


@st.cache_data(show_spinner=False)
def _class_indices(name: str) -> list[np.ndarray]:
    """Indices into x_train of each class, in the file's order."""
    labels = np.asarray(dataset(name).y_train)
    return [np.flatnonzero(labels == k) for k in range(len(dataset(name).class_names))]


@st.cache_data(show_spinner=False, max_entries=16)
def _decoded(data_bytes: bytes, channels: str) -> np.ndarray:
    """An upload decoded once per (file, channels): (h, w, 1 or 3) float64."""
    return upload.decode_image(data_bytes, channels)


@dataclass(frozen=True)
class InputImage:
    """pixels (h, w, c) float64 in [0, 1]; caption for the figures; one name per channel."""

    pixels: np.ndarray
    caption: str
    channel_names: tuple[str, ...]


def input_picker() -> InputImage:
    """Sidebar: pick the input image (dataset digit, upload, or the course's 5x5 grid)."""
    with st.sidebar:
        st.header("Input")
        source = _synced(st.radio, "Source", "source", SOURCES[0], options=SOURCES, horizontal=True)
        if source == "5x5 course grid":
            return InputImage(COURSE_GRID, "the course's 5x5 grid", ("grid",))
        if source == "upload":
            return _upload_ui()
        return _dataset_ui()


def _dataset_ui() -> InputImage:
    names = data.available_datasets()
    name = _synced(st.selectbox, "Dataset", DATASET_KEY, names[0], options=names)
    try:
        ds = dataset(name)
    except data.DatasetError as error:
        st.error(str(error))
        st.stop()
    classes = list(range(len(ds.class_names)))
    label = _synced(
        st.selectbox, "Class", "class", 0, options=classes, format_func=lambda k: ds.class_names[k]
    )
    members = _class_indices(name)[label]
    index = _synced(
        st.number_input,
        f"Index within the class (0 to {len(members) - 1})",
        "index",
        0,
        bounds=(0, len(members) - 1),
        step=1,
    )
    st.button(
        ":material/casino: random",
        key="random_index",
        on_click=lambda: set_setting("index", int(np.random.default_rng().integers(len(members)))),
    )
    pixels = ds.x_train[members[index]].astype(np.float64)[:, :, None] / 255.0
    return InputImage(pixels, f"{name} {ds.class_names[label]} #{index}", ("gray",))


def _upload_ui() -> InputImage:
    channels = _synced(
        st.radio, "Show as", "channels", "grayscale", options=("grayscale", "RGB"), horizontal=True
    )
    uploaded = st.file_uploader(
        "Image (PNG, JPEG, BMP, GIF)",
        type=["png", "jpg", "jpeg", "bmp", "gif"],
        max_upload_size=-(-upload.EXPLORER_MAX_BYTES // 2**20),  # the server allows more, for models
    )
    state = st.session_state
    if uploaded is not None and uploaded.file_id != state.get("upload_id"):
        try:
            _decoded(uploaded.getvalue(), channels)
            state["upload_bytes"], state["upload_id"], state["upload_name"] = (
                uploaded.getvalue(),
                uploaded.file_id,
                uploaded.name,
            )
        except ValueError as error:
            st.error(f"{uploaded.name}: {error}")
    if "upload_bytes" not in state:
        st.info(
            f"Upload an image; it is shrunk to at most {upload.EXPLORER_SIDE} px on its longer side."
        )
        st.stop()
    pixels = _decoded(state["upload_bytes"], channels)
    names = ("gray",) if channels == "grayscale" else ("R", "G", "B")
    return InputImage(pixels, state["upload_name"], names)


# --- layer settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvLayer:
    """W (kh, kw, c_prev, c_new), b (1, 1, 1, c_new), the ops padding argument and its pads."""

    W: np.ndarray
    b: np.ndarray
    padding: str | tuple[int, int]
    pads: ops.Pads
    stride: tuple[int, int]
    activation: str
    presets: tuple[str, ...]  # one label per filter: its preset, "(edited)" after hand edits


def kernel_size_ui() -> int:
    """Kernel size k (k x k) shared by the layer's filters."""
    return _synced(st.select_slider, "Kernel size", "ksize", 3, options=kernels.ALL_SIZES)


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
            values.append(_synced(st.number_input, label, name, default, bounds=bounds, step=1))
    return values[0], values[1]


def stride_ui() -> tuple[int, int]:
    """Stride (sh, sw) of the convolution."""
    return _pair_ui(("Stride sh", "Stride sw"), ("stride_h", "stride_w"), 1, (1, 7))


def padding_ui():
    """The padding argument of the ops: "valid", "same" or explicit (ph, pw)."""
    kind = _synced(st.radio, "Padding", "padding", "valid", options=PADDINGS, horizontal=True)
    if kind != "explicit":
        return kind
    labels = ("ph (rows each side)", "pw (columns each side)")
    return _pair_ui(labels, ("pad_h", "pad_w"), 1, (0, 10))


def conv_layer_ui(input_image: InputImage, *, editable: bool) -> ConvLayer:
    """Sidebar layer settings, and (editable) one tab per filter with its preset and kernel editor."""
    c_prev = input_image.pixels.shape[2]
    with st.sidebar:
        st.header("Convolution layer")
        n_filters = _synced(st.slider, "Filters", "filters", 1, bounds=(1, kernels.MAX_FILTERS))
        size = kernel_size_ui()
        padding = padding_ui()
        stride = stride_ui()
        bias = _synced(
            st.number_input, "Bias b (every filter)", "bias", 0.0, step=0.1, format="%.2f"
        )
        activation = _synced(st.selectbox, "Activation", "activation", "none", options=ACTIVATIONS)
        seed = _synced(
            st.number_input, "Seed (random kernels)", "seed", 0, bounds=(0, 10**6), step=1
        )
    presets = available_presets(size)
    defaults = list(dict.fromkeys([p for p in DEFAULT_PRESETS if p in presets] + presets))
    grids, labels = [], []
    tabs = (
        st.tabs([f"filter {f + 1}" for f in range(n_filters)]) if editable else [None] * n_filters
    )
    for f, tab in enumerate(tabs):
        default = defaults[f % len(defaults)]
        if tab is None:
            preset = st.session_state.get(f"preset_{f}", default)
            preset = preset if preset in presets else presets[0]
            grids.append(_kernel(f, preset, size, seed + f, c_prev))
        else:
            with tab:
                preset = _synced(st.selectbox, "Preset", f"preset_{f}", default, options=presets)
                grids.append(_kernel_editor(f, preset, size, seed + f, c_prev))
        original = kernels.preset_kernel(preset, size, seed=seed + f, fan_in_channels=c_prev)
        labels.append(preset if np.array_equal(grids[-1], original) else f"{preset} (edited)")
    W = kernels.layer_weights(grids, c_prev)
    b = np.full((1, 1, 1, n_filters), float(bias))
    pads = ops.resolve_padding(padding, input_image.pixels.shape[:2], W.shape[:2], stride)
    return ConvLayer(W, b, padding, pads, stride, activation, tuple(labels))


def _kernel(f: int, preset: str, size: int, seed: int, c_prev: int) -> np.ndarray:
    """Filter f's current 2-D kernel: its last good edit, or the preset when the preset changed."""
    state, source = st.session_state, (preset, size, seed, c_prev)
    if state.get(f"kernel_source_{f}") != source:
        state[f"kernel_{f}"] = kernels.preset_kernel(
            preset, size, seed=seed, fan_in_channels=c_prev
        )
        state[f"kernel_source_{f}"] = source
    return state[f"kernel_{f}"]


def _kernel_editor(f: int, preset: str, size: int, seed: int, c_prev: int) -> np.ndarray:
    """An editable grid for filter f; bad cells are refused with a message and the last good kernel stays."""
    import pandas as pd  # here, not at the top: pages without a kernel editor start faster

    state = st.session_state
    kernel = _kernel(f, preset, size, seed, c_prev)
    key = f"_w_editor_{f}_{preset}_{size}_{seed}_{c_prev}"
    if key not in state:
        state[f"kernel_base_{f}"] = kernel
    base = state[f"kernel_base_{f}"]
    columns = [str(c + 1) for c in range(base.shape[1])]
    table = pd.DataFrame([[f"{v:.4g}" for v in row] for row in base], columns=columns)
    st.caption(
        "Edit the cells (numbers only); the kernel is applied as a cross-correlation, like the course."
    )
    st.data_editor(table, key=key, hide_index=True, width="content")
    cells: list[list] = base.tolist()
    for row, edits in state[key]["edited_rows"].items():
        for column, value in edits.items():
            cells[int(row)][columns.index(column)] = value
    try:
        state[f"kernel_{f}"] = kernels.parse_kernel_grid(cells)
    except ValueError as error:
        st.error(f"{error}. The last good kernel stays in use.")
    return state[f"kernel_{f}"]


def pool_ui() -> tuple[tuple[int, int], tuple[int, int], str]:
    """Sidebar pooling settings: (kernel (kh, kw), stride (sh, sw), mode)."""
    with st.sidebar:
        st.header("Pooling layer")
        mode = _synced(
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
        value = _synced(
            st.slider, f"{label} {axis}", key, int(start), bounds=(0, size - 1), url=False
        )
        position.append(value)
    f = 0
    if n_channels > 1:
        f = _synced(
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


def synced_choice(
    label: str, name: str, options, default=None, *, url: bool = True, widget=st.radio, **kwargs
):
    """A radio/selectbox whose value persists across pages (and in the URL)."""
    options = list(options)
    return _synced(
        widget,
        label,
        name,
        options[0] if default is None else default,
        options=options,
        url=url,
        **kwargs,
    )


def synced_number(
    label: str, name: str, default, bounds, *, url: bool = False, widget=st.number_input, **kwargs
):
    """A number input or slider whose value persists across pages."""
    return _synced(widget, label, name, default, bounds=bounds, url=url, **kwargs)


def guarded(compute: Callable, *args, name: str):
    """compute(*args); on ValueError show it with st.error and fall back to the last good args."""
    state = st.session_state
    try:
        result = compute(*args)
    except ValueError as error:
        st.error(f"{error}.")
        if f"last_good_{name}" not in state:
            st.stop()
        st.caption("Showing the last settings that worked.")
        return compute(*state[f"last_good_{name}"])
    state[f"last_good_{name}"] = args
    return result
