"""Draw: draw a digit (or pick an MNIST sample, or upload a photo) and watch LeNet-5 read it, or
a Keras model the user uploads (kept in this browser session only; Keras imported on upload).
Either model is a reader (cnnviz.readers.Reader): one pipeline draws what it reads."""

import os
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from cnnviz import figures, paths, ui
from cnnviz.data.preprocess import NothingDrawn, preprocess_steps
from cnnviz.data.upload import EXTENSIONS, PHOTO_MAX_BYTES, decode_upload, photo_ink
from cnnviz.nn.lenet import ModelFileError
from cnnviz.readers import LayerOutput, Reader, keras_model
from cnnviz.readers.lenet import LeNetReader

# The pretrained model shipped in data/; CNNVIZ_DRAW_MODEL points the page at another file.
PRETRAINED_MODEL = Path(os.environ.get("CNNVIZ_DRAW_MODEL", paths.PRETRAINED_MODEL))
CANVAS_SIZE = 280
SOURCES = ("Draw", "MNIST sample", "Upload a photo")
YOUR_MODEL = "Your Keras model"
UPLOADED_MODEL_KEY = "draw_uploaded_model"  # (file id, UploadedModel or why it was refused)
MAX_MAPS = 32  # feature maps drawn per layer (an uploaded model may have hundreds)
NOTHING_DRAWN = {
    "Draw": "Nothing drawn yet: draw a digit on the canvas.",
    "Upload a photo": "Upload a photo of one digit; dark ink on light paper is fine.",
}


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(path: str, modified_ns: int) -> LeNetReader:
    """LeNet-5 from its file; modified_ns makes a rewritten file load afresh."""
    return LeNetReader.load(path)


def model_ui() -> Reader | None:
    """Pick the pretrained, this session's or an uploaded model and load it: its reader, or None
    (reason shown) on failure."""
    options = {"Pretrained LeNet-5": PRETRAINED_MODEL}
    if st.session_state.get(ui.TRAINED_MODEL_KEY):
        options["Trained in this session"] = Path(st.session_state[ui.TRAINED_MODEL_KEY])
    options[YOUR_MODEL] = None
    choice = st.radio("Model", list(options), horizontal=True, key="draw_model")
    if choice == YOUR_MODEL:
        return uploaded_model_ui()
    st.session_state.pop(UPLOADED_MODEL_KEY, None)  # another model chosen: free the upload
    path = options[choice]
    try:
        reader = load_model(str(path), path.stat().st_mtime_ns if path.is_file() else 0)
    except (ModelFileError, ImportError) as error:
        st.error(
            f"No prediction: the model could not be loaded. {error}. "
            "The preprocessing below still works; train a model on the Training page "
            "or restore the file."
        )
        return None
    described = f" ({reader.description})" if reader.description else ""
    st.caption(f"Model: `{path.name}`{described}")
    return reader


def uploaded_model_ui() -> keras_model.UploadedModel | None:
    """The user's .keras file, loaded once per upload into this session only (dropped with the
    file); None, with the reason shown, until one loads."""
    upload = st.file_uploader(
        f"Keras model (.keras, up to {keras_model.MODEL_MAX_BYTES // 2**20} MB)",
        type=["keras"],
        max_upload_size=keras_model.MODEL_MAX_BYTES // 2**20,
        key="draw_model_upload",
    )
    state = st.session_state
    if upload is None:
        state.pop(UPLOADED_MODEL_KEY, None)
        st.info(
            "Upload a model saved with `model.save('name.keras')` that reads one 28×28 grayscale "
            "digit (input (28, 28), (28, 28, 1) or (784,), values in [0, 1]). It is loaded in "
            "safe mode (no Lambda layers, no custom code) and kept in this browser session only."
        )
        return None
    if state.get(UPLOADED_MODEL_KEY, (None,))[0] != upload.file_id:
        state.pop(UPLOADED_MODEL_KEY, None)
        try:
            with st.spinner("Loading your model…"):
                loaded = keras_model.load(upload.getvalue())
            state[UPLOADED_MODEL_KEY] = (upload.file_id, loaded)
        except keras_model.KerasModelError as error:
            state[UPLOADED_MODEL_KEY] = (upload.file_id, f"{upload.name}: {error}")
    refused_or_loaded = state[UPLOADED_MODEL_KEY][1]  # a refused file is not loaded again
    if isinstance(refused_or_loaded, str):
        st.error(refused_or_loaded)
        return None
    st.caption(
        f"Model: `{upload.name}` ({refused_or_loaded.description}), "
        "in this browser session only."
    )
    return refused_or_loaded


def canvas_ui() -> np.ndarray | None:
    """The canvas (light strokes on black) with its stroke-width slider; its RGBA pixels or None."""
    stroke = st.slider("Stroke width", 6, 40, 20, key="draw_stroke")
    result = st_canvas(
        stroke_width=stroke,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=CANVAS_SIZE,
        height=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key="draw_canvas",
    )
    st.caption("Toolbar under the canvas: undo, redo, and the bin clears it.")
    return result.image_data


def mnist_sample_ui() -> tuple[np.ndarray, str] | None:
    """A test digit chosen by index (or at random): (28, 28) float32 in [0, 1] and its label."""
    try:
        dataset = ui.dataset("mnist")
    except (ValueError, ImportError) as error:
        st.error(f"MNIST could not be loaded: {error}")
        return None
    last = len(dataset.x_test) - 1
    if st.button("Random digit", key="draw_random"):
        st.session_state["draw_sample_index"] = int(np.random.default_rng().integers(0, last + 1))
    index = st.number_input(
        f"Test digit (0 to {last})", min_value=0, max_value=last, key="draw_sample_index"
    )
    label = dataset.class_names[int(dataset.y_test[index])]
    digit = dataset.x_test[index]
    st.image(np.kron(digit, np.ones((10, 10), dtype=np.uint8)), width=CANVAS_SIZE)  # crisp pixels
    st.caption(f"From {dataset.source}. True label: **{label}**")
    return digit.astype(np.float32) / 255.0, label


def upload_ui() -> np.ndarray | None:
    """A photo of a handwritten digit, decoded and cleaned: its ink, or None (reason shown)."""
    uploaded = st.file_uploader(
        f"Photo of one handwritten digit (up to {PHOTO_MAX_BYTES // 2**20} MiB)",
        type=list(EXTENSIONS),
        max_upload_size=PHOTO_MAX_BYTES // 2**20,  # the server allows more, for models
        key="draw_upload",
    )
    if uploaded is None:
        return None
    try:
        decoded = decode_upload(uploaded.getvalue())
    except ValueError as error:
        st.error(str(error))
        return None
    for note in decoded.notes:
        st.info(note)
    st.image(decoded.pixels, caption=uploaded.name, width=CANVAS_SIZE)
    try:
        return photo_ink(decoded.pixels)
    except NothingDrawn as error:
        st.info(f"No digit found in this photo. {error}")
        return None


def prediction_ui(reader: Reader, outputs: np.ndarray, true_label: str | None) -> tuple[int, str]:
    """The model's reading: the top class (the runner-up when unsure) and the probability bars,
    or, for outputs that are not class probabilities, the largest; returns (top, its name)."""
    names = reader.class_names
    if names is None:
        st.info(reader.output_note)
        top = int(np.argmax(outputs))
        st.subheader(f"Largest output: unit {top} ({outputs[top]:.4g})")
        st.plotly_chart(figures.draw.outputs_figure(outputs), key="draw_outputs")
        return top, f"unit {top}"
    top, runner_up = figures.draw.top_two(outputs)
    st.subheader(f"The network reads: {names[top]} ({outputs[top]:.0%})")
    if runner_up is not None:
        st.warning(f"Unsure: the runner-up is {names[runner_up]} ({outputs[runner_up]:.0%}).")
    if true_label is not None:
        verdict = "right" if names[top] == true_label else "wrong"
        st.caption(f"True label {true_label}: the network is {verdict}.")
    st.plotly_chart(figures.draw.probability_figure(outputs, names), key="draw_probs")
    return top, names[top]


def views_ui(reader: Reader, digit: np.ndarray, true_label: str | None) -> None:
    """What the model reads, then a tab per layer (layers sharing a tab together) and saliency.

    Only the open tab is computed and drawn (opening another reruns the page): every stroke used
    to build, send and draw every layer's charts, the hidden ones too."""
    outputs, layers = reader.read(digit)
    top, top_name = prediction_ui(reader, outputs, true_label)
    st.header("Layer by layer")
    by_tab: dict[str, list[LayerOutput]] = {}
    for layer in layers:
        by_tab.setdefault(layer.tab, []).append(layer)
    tabs = st.tabs([*by_tab, "saliency"], key="draw_layer", on_change="rerun")
    for tab, (label, shown) in zip(tabs, by_tab.items()):
        with tab:
            if tab.open:
                layers_figure_ui(label, shown)
    with tabs[-1]:
        if not tabs[-1].open:
            return
        gradient, score = reader.saliency(digit, top)
        st.caption(
            f"Gradient of {top_name}'s score ({score}) with respect to each input pixel: more ink "
            "on a red pixel would raise the score, on a blue one lower it."
        )
        figure = figures.draw.saliency_figure(digit, gradient, top_name)
        st.plotly_chart(figure, key="draw_saliency")


def layers_figure_ui(label: str, layers: list[LayerOutput]) -> None:
    """One tab: a layer's maps (beside their kernels for a convolution), or units of one or more
    dense layers; a caption line per layer."""
    for layer in layers:
        st.caption(layer_caption(layer))
    values = [layer.values[..., None] if layer.values.ndim == 2 else layer.values
              for layer in layers]
    if values[0].ndim == 3:
        shown = min(values[0].shape[2], MAX_MAPS)
        kernels = layers[0].kernels
        figure = figures.draw.feature_maps_figure(
            values[0][..., :shown], None if kernels is None else kernels[..., :shown],
            layer=layers[0].name,
        )
    elif all(value.ndim == 1 for value in values):
        units = {f"{layer.name} ({len(layer.values)} units)": layer.values for layer in layers}
        figure = figures.draw.dense_layers_figure(units)
    else:
        return
    st.plotly_chart(figure, key=f"draw_layer_{label}")


def layer_caption(layer: LayerOutput) -> str:
    """What a layer's output is: maps of h×w (how many drawn), units, or a shape not drawn."""
    values = layer.values[..., None] if layer.values.ndim == 2 else layer.values
    note = " Dropout is off when reading a digit (it acts in training only)." \
        if layer.kind == "Dropout" else ""
    if values.ndim == 3:
        shown = min(values.shape[2], MAX_MAPS)
        more = f", the first {shown} shown" if shown < values.shape[2] else ""
        maps = f"{values.shape[2]} map{'s' if values.shape[2] > 1 else ''}"
        return (f"{layer.name} ({layer.kind}): {maps} of "
                f"{values.shape[0]}×{values.shape[1]}{more}.{note}")
    if values.ndim == 1:
        return f"{layer.name} ({layer.kind}): {len(values)} units.{note}"
    return f"{layer.name} ({layer.kind}): output of shape {values.shape}, not drawn."


def network_input_ui(source: str) -> tuple[np.ndarray | None, str | None]:
    """Input on the left, preprocessing steps on the right: (digit (28, 28) or None, true label)."""
    input_col, steps_col = st.columns([1, 2], gap="large")
    with input_col:
        if source == "MNIST sample":
            sample = mnist_sample_ui()
            with steps_col:
                st.caption(
                    "MNIST digits are already cropped, scaled to 20 px and centred: "
                    "they go straight in."
                )
            return sample if sample is not None else (None, None)
        raw = canvas_ui() if source == "Draw" else upload_ui()
    with steps_col:
        if raw is None:
            st.info(NOTHING_DRAWN[source])
            return None, None
        try:
            steps = preprocess_steps(raw)
        except NothingDrawn as error:
            st.info(NOTHING_DRAWN[source] if source == "Draw" else str(error))
            return None, None
        except ValueError as error:
            st.error(str(error))
            return None, None
        st.plotly_chart(figures.draw.preprocess_steps_figure(steps), key="draw_steps")
        st.caption(
            "What MNIST did to its digits: crop to the ink, scale the longer side to 20 px, "
            "put the centre of mass at the centre of 28×28. One step more for the canvas: "
            "strokes too wide for the digit's size are thinned (the brush does not shrink with "
            "the digit)."
        )
    return steps.centred, None


st.title("Draw a digit")
st.write(
    "Draw a digit, pick one from MNIST or upload a photo, and watch LeNet-5 (or your own Keras "
    "model) read it, layer by layer."
)
model = model_ui()
source = st.radio("Input", SOURCES, horizontal=True, key="draw_source")
digit, true_label = network_input_ui(source)
if digit is not None and model is not None:
    views_ui(model, digit, true_label)
