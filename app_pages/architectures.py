"""Architectures: MLP vs CNN side by side, a network edited layer by layer, and its Keras code."""

import pandas as pd
import streamlit as st

from cnnviz import figures
from cnnviz.networks import architectures, export, layer_specs, presets

YOURS = "Your network"
START = "LeNet-5 (course)"
state = st.session_state

st.title("Architectures")
st.caption(
    "Why convolutions? Count what each network costs: parameters, multiply-adds per image, and "
    "how much of the image each unit sees (its receptive field)."
)
compare_area = st.container()  # filled last: it can include the network edited further down


def load(title: str) -> None:
    """Start editing a copy of a preset (its input shape and layers)."""
    network = presets.PRESETS[title]
    state["arch_base"] = [architectures.layer_fields(layer) for layer in network.layers]
    state["arch_h"], state["arch_w"], state["arch_c"] = network.input_shape
    state["arch_network"], state["arch_from"] = network, title
    state["arch_version"] = state.get("arch_version", 0) + 1


def named(network: architectures.Network) -> tuple[architectures.Network, str]:
    """(network, title): the preset itself while it is unedited, else "my_network"."""
    preset = presets.PRESETS[state["arch_from"]]
    if (network.input_shape, network.layers) == (preset.input_shape, preset.layers):
        return preset, state["arch_from"]
    return (architectures.Network("my_network", network.input_shape, network.layers),
            f"{YOURS} (edited from {state['arch_from']})")


def table_rows(edited: pd.DataFrame) -> list[dict]:
    """The editor's rows as dicts, blank cells as None."""
    return edited.astype(object).where(edited.notna(), None).to_dict("records")


def analysis_table(analysis: architectures.Analysis) -> None:
    st.dataframe(
        [row.as_dict() for row in analysis.rows], hide_index=True,
        column_config={name: st.column_config.NumberColumn(format="localized")
                       for name in ("parameters", "multiply-adds")},
    )
    st.markdown(f"**Total: {analysis.total_params:,} parameters, {analysis.total_macs:,} "
                f"multiply-adds per image**; output {analysis.output_shape}.")


# --- your network, layer by layer ---------------------------------------------------------------

st.subheader("Layer by layer: edit a network")
if "arch_base" not in state:
    load(START)
columns = st.columns([3, 1])
with columns[0]:
    preset = st.selectbox("Start from", list(presets.PRESETS), key="arch_preset",
                          index=list(presets.PRESETS).index(START))
with columns[1]:
    st.write("")  # aligns the button with the box
    if st.button("Load", key="arch_load", help="Replace the table below with this preset"):
        load(preset)
columns = st.columns(3)
input_shape = tuple(
    int(column.number_input(label, 1, 4096, step=1, key=key))
    for column, label, key in zip(columns, ("input height", "input width", "input channels"),
                                  ("arch_h", "arch_w", "arch_c"))
)
st.caption(
    "One row per layer. **units** is Conv2D's filters or Dense's units, **kernel** the kernel or "
    "pool size, **groups** splits a Conv2D's channels (AlexNet's two GPUs: 2); blank cells take "
    "Keras' defaults (stride 1, or the pool size for pooling; valid padding; 1 group; no "
    "activation), and LocalResponseNormalization the paper's k = 2, n = 5, α = 1e-4, β = 0.75. "
    "Add rows at the bottom, delete them with the row's checkbox."
)
edited = st.data_editor(
    pd.DataFrame(state["arch_base"], columns=architectures.FIELDS),
    key=f"arch_editor_{state['arch_version']}", num_rows="dynamic", hide_index=True,
    width="stretch", placeholder="",
    column_config={
        "layer": st.column_config.SelectboxColumn(options=list(architectures.LAYER_TYPES),
                                                  required=True),
        "units": st.column_config.NumberColumn("units", min_value=1, step=1),
        "kernel": st.column_config.NumberColumn("kernel", min_value=1, step=1),
        "stride": st.column_config.NumberColumn("stride", min_value=1, step=1),
        "padding": st.column_config.SelectboxColumn(options=list(layer_specs.PADDINGS)),
        "groups": st.column_config.NumberColumn("groups", min_value=1, step=1),
        "activation": st.column_config.SelectboxColumn(options=list(layer_specs.ACTIVATIONS)),
        "rate": st.column_config.NumberColumn("rate", min_value=0.0, max_value=0.99, step=0.05),
    },
)
rows = table_rows(edited)
try:
    network, title = named(architectures.network_from_rows("my_network", input_shape, rows))
    analysis = architectures.analyze(network)
    state["arch_network"] = network
except ValueError as error:
    st.error(f"{error}. The last good network stays (below).")
    network, title = named(state["arch_network"])
    analysis = architectures.analyze(network)

columns = st.columns([2, 2, 1])
with columns[0]:
    kind = st.selectbox("Insert a layer", list(architectures.NEW_LAYERS), key="arch_insert_kind")
with columns[1]:
    position = st.number_input("at row", 1, len(rows) + 1, len(rows) + 1, key="arch_insert_at",
                               help=f"1 puts it first, {len(rows) + 1} at the end")
with columns[2]:
    st.write("")
    if st.button("Insert", key="arch_insert"):
        rows.insert(int(position) - 1, architectures.layer_fields(architectures.NEW_LAYERS[kind]))
        state["arch_base"], state["arch_version"] = rows, state["arch_version"] + 1
        st.rerun()
analysis_table(analysis)
st.caption(
    "Receptive field: the square of input pixels one value of the layer's output depends on (it "
    "can outgrow the image: the rest is padding); jump: input pixels between neighbouring output "
    "positions. A Dense unit sees the whole input."
)

# --- why 61,706 twice ---------------------------------------------------------------------------

st.subheader("Why both LeNet-5s have 61,706 parameters")
pairs = presets.same_count_two_ways()


def on_input(row: architectures.LayerRow) -> str:
    return f"{row.name}: {row.layer.describe()} on {' x '.join(map(str, row.input_shape))}"


st.dataframe(
    [{"course": on_input(p.course), "course_params": p.course.params,
      "homework": on_input(p.homework), "homework_params": p.homework.params} for p in pairs],
    hide_index=True,
    column_config={
        "course": "course LeNet-5", "homework": "homework LeNet-5",
        "course_params": st.column_config.NumberColumn("parameters", format="localized"),
        "homework_params": st.column_config.NumberColumn("parameters", format="localized"),
    },
)
different = next(p for p in pairs if p.differs)
st.markdown(
    f"The two networks differ at one layer: **{on_input(different.homework)}** in the homework, "
    f"**{on_input(different.course)}** in the course. A 5x5 kernel on a 5x5 map fits in exactly "
    "one place, so each of the 120 filters gives one number computed from all 5 x 5 x 16 = 400 "
    "inputs: that is a dense unit on the 400 flattened values. Same weights (5 x 5 x 16 x 120 = "
    f"400 x 120), same 120 biases: {different.homework.params:,} parameters either way, and the "
    "same multiply-adds. Every other layer is the same, so the totals are equal: "
    f"{sum(p.course.params for p in pairs):,} = {sum(p.homework.params for p in pairs):,}."
)

# --- the 1,000 x 1,000 argument -----------------------------------------------------------------

st.subheader("The 1,000 × 1,000 image argument")
channels = st.radio("Image", (1, 3), format_func={1: "grayscale", 3: "colour (RGB)"}.get,
                    horizontal=True, key="arch_channels")
sides = [8, 16, 28, 32, 64, 128, 256, 512, 1000, 2000]
comparison = presets.dense_vs_conv(sides, channels=channels)
st.plotly_chart(figures.architectures.dense_vs_conv_figure(comparison), key="arch_dense_vs_conv")
at_1000 = sides.index(1000)
st.markdown(
    f"On a 1,000 × 1,000 {'colour' if channels == 3 else 'grayscale'} image, a first Dense layer "
    f"of 512 units (the lecture's MLP) needs **{int(comparison['dense'][at_1000]):,}** parameters: "
    f"one weight per pixel{' and channel' if channels == 3 else ''} per unit. A Conv2D of 32 3x3 "
    f"filters needs **{int(comparison['conv'][at_1000]):,}** at any image size: the same small "
    "kernels slide over the whole image (weight sharing), and each unit looks at a small patch "
    "(local connectivity), which keeps the image's 2-D structure."
)

# --- Copy as Keras code -------------------------------------------------------------------------

st.subheader("Copy as Keras code")
datasets = export.datasets_for(network, analysis)
if not datasets:
    st.info(f"The exported script trains on MNIST or Fashion-MNIST (28 x 28 x 1) or CIFAR-10 "
            f"(32 x 32 x 3), or builds a 1000-class network on colour images for ImageNet; this "
            f"network's input is {network.input_shape}.")
else:
    columns = st.columns(5)
    dataset = columns[0].selectbox("Dataset", datasets, key="arch_dataset")
    trains = dataset not in export.BUILD_ONLY
    training = {} if not trains else {
        "epochs": int(columns[1].number_input("Epochs", 1, 200, 3, key="arch_epochs")),
        "batch_size": int(columns[2].number_input("Batch size", 1, 4096, 64, key="arch_batch"))}
    learning_rate = columns[3].number_input("Learning rate (Adam)", 1e-6, 1.0, 0.001,
                                            format="%.4f", key="arch_lr")
    seed = columns[4].number_input("Seed", 0, 10**6, 0, key="arch_seed")
    if not trains:
        st.info(f"cnnviz has no {export.BUILD_ONLY[dataset][0]} data: this script does not "
                f"train. It builds and compiles the network, prints its summary and parameter "
                f"count, and with `--save model.keras` writes it untrained.")
    try:
        script = export.keras_script(network, dataset=dataset, **training,
                                     learning_rate=float(learning_rate), seed=int(seed),
                                     title=title)
    except ValueError as error:
        st.info(f"{error}.")
    else:
        filename = export.script_filename(network, dataset)
        st.download_button(":material/download: Download the script", script,
                           file_name=filename, mime="text/x-python", key="arch_download")
        st.code(script, language="python", height=480)
        if trains:
            st.caption(f"Run it with `python {filename}` (Keras 3 and NumPy needed); `--epochs 1 "
                       "--limit 1000` for a quick try. Inside the cnnviz folder it trains on the "
                       "app's data; elsewhere Keras downloads the dataset.")
        else:
            st.caption(f"Run it with `python {filename}` (Keras 3 needed).")

# --- compare (drawn at the top) -----------------------------------------------------------------

with compare_area:
    st.subheader("Compare networks")
    options = [*presets.PRESETS, YOURS]
    chosen = st.multiselect("Networks", options, key="arch_compare", default=[
        "MLP 512-512 (lecture)", "CNN for MNIST (lecture)", "LeNet-5 (course)"])
    log = st.toggle("Logarithmic scale", True, key="arch_log")
    analyses = {name: analysis if name == YOURS else architectures.analyze(presets.PRESETS[name])
                for name in chosen}
    if analyses:
        st.dataframe(
            [{"network": name, "input": " x ".join(map(str, a.network.input_shape)),
              "parameters": a.total_params, "multiply-adds per image": a.total_macs,
              "layers": len(a.rows)} for name, a in analyses.items()],
            hide_index=True,
            column_config={name: st.column_config.NumberColumn(format="localized")
                           for name in ("parameters", "multiply-adds per image")},
        )
        st.plotly_chart(figures.architectures.params_per_layer_figure(analyses, log=log),
                        key="arch_params")
        st.caption("An MLP spends almost all its parameters in its first Dense layer; a CNN's "
                   "convolutions are cheap in parameters and dear in multiply-adds (the same "
                   "weights are used at every position).")
    else:
        st.info("Pick networks to compare.")
