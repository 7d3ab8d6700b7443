"""Draw: draw a digit (or pick an MNIST sample, or upload a photo) and watch LeNet-5 read it, or
a Keras model the user uploads (kept in this browser session only; Keras imported on upload)."""

import os
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from cnnviz import figures, paths, ui
from cnnviz.data.preprocess import NothingDrawn, preprocess_steps
from cnnviz.data.upload import FORMATS, MAX_BYTES, decode_upload, photo_ink
from cnnviz.nn import lenet
from cnnviz.readers import keras_model

# The pretrained model shipped in data/; CNNVIZ_DRAW_MODEL points the page at another file.
PRETRAINED_MODEL = Path(os.environ.get("CNNVIZ_DRAW_MODEL", paths.PRETRAINED_MODEL))
CANVAS_SIZE = 280
SOURCES = ("Draw", "MNIST sample", "Upload a photo")
CLASS_NAMES = [str(digit) for digit in range(10)]
YOUR_MODEL = "Your Keras model"
UPLOADED_MODEL_KEY = "draw_uploaded_model"  # (file id, UploadedModel or why it was refused)
MAX_MAPS = 32  # feature maps drawn per layer of an uploaded model
NOTHING_DRAWN = {
    "Draw": "Nothing drawn yet: draw a digit on the canvas.",
    "Upload a photo": "Upload a photo of one digit; dark ink on light paper is fine.",
}


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(path: str, modified_ns: int) -> tuple[dict, dict]:
    """(params, meta) of a LeNet-5 file; modified_ns makes a rewritten file load afresh."""
    return lenet.load_params(path)


def model_ui() -> dict | keras_model.UploadedModel | None:
    """Pick the pretrained, this session's or an uploaded model and load it: LeNet-5 params, an
    uploaded Keras model, or None (reason shown) on failure."""
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
        params, meta = load_model(str(path), path.stat().st_mtime_ns if path.is_file() else 0)
    except (lenet.ModelFileError, ImportError) as error:
        st.error(
            f"No prediction: the model could not be loaded. {error}. "
            "The preprocessing below still works; train a model on the Training page "
            "or restore the file."
        )
        return None
    described = ", ".join(
        f"{key} {value}" for key, value in meta.items() if key in ("backend", "accuracy")
    )
    st.caption(f"Model: `{path.name}`{f' ({described})' if described else ''}")
    return params


def uploaded_model_ui() -> keras_model.UploadedModel | None:
    """The user's .keras file, loaded once per upload into this session only (dropped with the
    file); None, with the reason shown, until one loads."""
    upload = st.file_uploader(
        f"Keras model (.keras, up to {keras_model.MAX_BYTES // 2**20} MB)",
        type=["keras"],
        max_upload_size=keras_model.MAX_BYTES // 2**20,
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
        f"Model: `{upload.name}` ({len(refused_or_loaded.layers)} layers, "
        f"{refused_or_loaded.parameters:,} parameters), in this browser session only."
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
        f"Photo of one handwritten digit (up to {MAX_BYTES // 2**20} MiB)",
        type=[fmt.lower() for fmt in FORMATS] + ["jpg"],
        max_upload_size=MAX_BYTES // 2**20,  # the server allows more, for models
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


def prediction_ui(probs: np.ndarray, class_names: list[str], true_label: str | None) -> int:
    """The network's reading, the runner-up when unsure, the probability bars; returns the top."""
    top, runner_up = figures.draw.top_two(probs)
    st.subheader(f"The network reads: {class_names[top]} ({probs[top]:.0%})")
    if runner_up is not None:
        st.warning(f"Unsure: the runner-up is {class_names[runner_up]} ({probs[runner_up]:.0%}).")
    if true_label is not None:
        verdict = "right" if class_names[top] == true_label else "wrong"
        st.caption(f"True label {true_label}: the network is {verdict}.")
    st.plotly_chart(figures.draw.probability_figure(probs, class_names), key="draw_probs")
    return top


def layer_tabs(labels: list[str], key: str) -> list:
    """Tabs of which only the open one is computed and drawn (opening another reruns the page):
    every stroke used to build, send and draw all six layers' charts, the hidden ones too."""
    return st.tabs(labels, key=key, on_change="rerun")


def layers_ui(params: dict, cache: dict, x: np.ndarray, top: int, class_names: list[str]) -> None:
    """Tabs with every layer's activations for the digit, kernels beside maps, and saliency."""
    tabs = layer_tabs(["conv1", "pool1", "conv2", "pool2", "dense", "saliency"], "draw_layer")
    views = [
        ("conv1", params["conv1_W"], 3),
        ("pool1", None, 6),
        ("conv2", params["conv2_W"], 4),
        ("pool2", None, 8),
    ]
    for tab, (layer, kernels, columns) in zip(tabs, views):
        with tab:
            if not tab.open:
                continue
            maps = cache[layer][0]
            st.caption(f"{layer}: {maps.shape[2]} maps of {maps.shape[0]}×{maps.shape[1]}")
            figure = figures.draw.feature_maps_figure(maps, kernels, layer=layer, columns=columns)
            st.plotly_chart(figure, key=f"draw_{layer}")
    with tabs[4]:
        if tabs[4].open:
            dense = {"fc1 (120 ReLU units)": cache["fc1"][0], "fc2 (84 ReLU units)": cache["fc2"][0]}
            st.plotly_chart(figures.draw.dense_layers_figure(dense), key="draw_dense")
    with tabs[5]:
        if not tabs[5].open:
            return
        saliency = lenet.input_gradient(params, x, top, of="logit")[0, ..., 0]
        st.caption(
            "Gradient of the top class's score (its logit, before softmax) with respect to each "
            "input pixel: more ink on a red pixel would raise the score, on a blue one lower it."
        )
        figure = figures.draw.saliency_figure(x[0, ..., 0], saliency, class_names[top])
        st.plotly_chart(figure, key="draw_saliency")


def uploaded_views_ui(
    uploaded: keras_model.UploadedModel, digit: np.ndarray, true_label: str | None
) -> None:
    """The uploaded model's reading, every layer's output in order, and saliency."""
    outputs, layers = keras_model.read(uploaded, digit)
    if uploaded.softmax_10:
        top = prediction_ui(outputs, CLASS_NAMES, true_label)
    else:
        st.info(uploaded.output_note)
        top = int(np.argmax(outputs))
        st.subheader(f"Largest output: unit {top} ({outputs[top]:.4g})")
        st.plotly_chart(figures.draw.outputs_figure(outputs), key="draw_outputs")
    st.header("Layer by layer")
    tabs = layer_tabs([layer.name for layer in layers] + ["saliency"], "draw_uploaded_layer")
    for tab, layer in zip(tabs, layers):
        with tab:
            if tab.open:
                layer_output_ui(layer)
    with tabs[-1]:
        if not tabs[-1].open:
            return
        gradient, score = keras_model.saliency(uploaded, digit, top)
        label = CLASS_NAMES[top] if uploaded.softmax_10 else f"unit {top}"
        st.caption(
            f"Gradient of {label}'s score ({score}) with respect to each input pixel: more ink on "
            "a red pixel would raise the score, on a blue one lower it."
        )
        st.plotly_chart(figures.draw.saliency_figure(digit, gradient, label), key="draw_saliency")


def layer_output_ui(layer: keras_model.LayerOutput) -> None:
    """One layer of an uploaded model: maps (beside their kernels for a convolution) or units."""
    values = layer.values[..., None] if layer.values.ndim == 2 else layer.values
    note = " Dropout is off when reading a digit (it acts in training only)." \
        if layer.kind == "Dropout" else ""
    if values.ndim == 3:
        shown = min(values.shape[2], MAX_MAPS)
        more = f", the first {shown} shown" if shown < values.shape[2] else ""
        maps = f"{values.shape[2]} map{'s' if values.shape[2] > 1 else ''}"
        st.caption(f"{layer.name} ({layer.kind}): {maps} of "
                   f"{values.shape[0]}×{values.shape[1]}{more}.{note}")
        kernels = None if layer.kernels is None else layer.kernels[..., :shown]
        figure = figures.draw.feature_maps_figure(
            values[..., :shown], kernels, layer=layer.name, columns=4 if kernels is not None else 8
        )
    elif values.ndim == 1:
        st.caption(f"{layer.name} ({layer.kind}): {len(values)} units.{note}")
        figure = figures.draw.dense_layers_figure({layer.name: values})
    else:
        st.caption(f"{layer.name} ({layer.kind}): output of shape {values.shape}, not drawn.")
        return
    st.plotly_chart(figure, key=f"draw_layer_{layer.name}")


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
if digit is not None and isinstance(model, keras_model.UploadedModel):
    uploaded_views_ui(model, digit, true_label)
elif digit is not None and model is not None:  # LeNet-5's params
    x = digit[None, :, :, None]  # (1, 28, 28, 1)
    probs, cache = lenet.forward(model, x)
    top = prediction_ui(probs[0], CLASS_NAMES, true_label)
    st.header("Layer by layer")
    layers_ui(model, cache, x, top, CLASS_NAMES)
