"""The explorer's input image: a dataset digit, an upload, or the course's 5x5 grid."""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz import data
from cnnviz.data import upload
from cnnviz.ui.settings import DATASET_KEY, set_setting, synced_widget

COURSE_GRID = np.array(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
    dtype=np.float64,
)[:, :, None]  # the course's hand-checkable 5x5 image (h, w, 1)
SOURCES = ("dataset", "upload", "5x5 course grid")


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
        source = synced_widget(
            st.radio, "Source", "source", SOURCES[0], options=SOURCES, horizontal=True
        )
        if source == "5x5 course grid":
            return InputImage(COURSE_GRID, "the course's 5x5 grid", ("grid",))
        if source == "upload":
            return _upload_ui()
        return _dataset_ui()


def _dataset_ui() -> InputImage:
    names = data.available_datasets()
    name = synced_widget(st.selectbox, "Dataset", DATASET_KEY, names[0], options=names)
    try:
        ds = dataset(name)
    except data.DatasetError as error:
        st.error(str(error))
        st.stop()
    classes = list(range(len(ds.class_names)))
    label = synced_widget(
        st.selectbox, "Class", "class", 0, options=classes, format_func=lambda k: ds.class_names[k]
    )
    members = _class_indices(name)[label]
    index = synced_widget(
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
    channels = synced_widget(
        st.radio, "Show as", "channels", "grayscale", options=("grayscale", "RGB"), horizontal=True
    )
    uploaded = st.file_uploader(
        f"Image ({', '.join(upload.FORMATS)})",
        type=list(upload.EXTENSIONS),
        max_upload_size=-(-upload.EXPLORER_MAX_BYTES // 2**20),  # the server allows more
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
            f"Upload an image; it is shrunk to at most {upload.EXPLORER_SIDE} px on its longer "
            "side."
        )
        st.stop()
    pixels = _decoded(state["upload_bytes"], channels)
    names = ("gray",) if channels == "grayscale" else ("R", "G", "B")
    return InputImage(pixels, state["upload_name"], names)
