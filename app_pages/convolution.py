"""Convolution: a kernel, padding and stride on a real image, forward, one output at a time."""

import numpy as np
import streamlit as st

from cnnviz import ui
from cnnviz.nn import explain, ops
from cnnviz.ui import tables

st.title("Convolution")
st.caption(
    "Edit a kernel, pick a preset, drag padding, stride, bias or the output cell below: the maps "
    "are recomputed in your browser as you move. Every output value is a window of the input "
    "times the kernel, summed, plus the bias, through the activation."
)


def forward(image: ui.InputImage, layer: ui.ConvLayer):
    """The layer's output A (h_new, w_new, c_new) for one image."""
    A = ops.conv_forward(
        image.pixels[None], layer.W, layer.b, layer.activation, layer.pads, layer.stride
    )
    return A[0]


image = ui.input_picker()
layer, ijf = ui.conv_scrub_ui(image)
A = forward(image, layer)
c_prev, c_new = layer.W.shape[2:]
input_hw, kernel_hw = image.pixels.shape[:2], layer.W.shape[:2]

st.subheader("Output size")
with st.container(key="size_formula"):  # inline code, not st.code: see tables.code_lines
    st.markdown(tables.code_lines(
        explain.size_formula(input_hw, kernel_hw, layer.pads, layer.stride)))
leftover = explain.unvisited(input_hw, kernel_hw, layer.pads, layer.stride)
if any(leftover):
    st.warning(
        f"The floor in the formula leaves {leftover[0]} row(s) at the bottom and {leftover[1]} "
        "column(s) at the right of the input that no window visits: they do not "
        "affect the output, and their gradient is zero."
    )


def channel_ui(image: ui.InputImage) -> int:
    """The input channel the step-through shows (a choice only for colour images)."""
    if image.pixels.shape[2] == 1:
        return 0
    return st.radio(
        "Input channel shown",
        range(image.pixels.shape[2]),
        format_func=lambda c: image.channel_names[c],
        horizontal=True,
        key="conv_channel",
    )


def window_times_kernel(layer: ui.ConvLayer, A, step: explain.ConvStep, channel: int, ijf) -> None:
    """Window ⊙ kernel of one channel, and the sum, bias and activation that give output (i, j)."""
    i, j, f = ijf
    c_prev = layer.W.shape[2]
    left, right = st.columns([3, 2])
    with left, st.container(key="step"):  # a table, not a chart: see cnnviz/ui/tables.py
        st.html(tables.grids_html(
            [step.window[:, :, channel], step.kernel[:, :, channel], step.product[:, :, channel]],
            ["input window", "kernel", "window ⊙ kernel"],
        ))
    with right:
        per_channel = " + ".join(f"{v:.4g}" for v in step.product.sum(axis=(0, 1)))
        summed = (
            f"Σ over {c_prev} channels: {per_channel} = " if c_prev > 1 else "Σ window ⊙ kernel = "
        )
        st.markdown(
            f"Output ({i}, {j}) of filter {f + 1}:\n"
            f"- {summed}**{step.total:.4g}**\n"
            f"- z = {step.total:.4g} + b ({step.bias:.4g}) = **{step.z:.4g}**\n"
            f"- a = {layer.activation}(z) = **{step.a:.4g}** "
            f"(the output map holds {A[i, j, f]:.4g})"
        )


@st.fragment
def step_through(image: ui.InputImage, layer: ui.ConvLayer, A: np.ndarray, ijf) -> None:
    """The settled output cell's window ⊙ kernel, per channel (a fragment: the channel picker
    reruns only this part of the page)."""
    st.subheader("Step through one output value")
    channel = channel_ui(image)
    i, j, f = ijf
    step = explain.conv_step(
        image.pixels, layer.W, layer.b, layer.pads, layer.stride, layer.activation, i, j, f
    )
    window_times_kernel(layer, A, step, channel, ijf)


@st.fragment
def tensorflow_check(image: ui.InputImage, layer: ui.ConvLayer, A: np.ndarray) -> None:
    """The same layer by tf.nn.conv2d, on request (a fragment: the button reruns only this)."""
    with st.expander("Check against TensorFlow"):
        st.write(
            "The same layer computed by `tf.nn.conv2d` (float64). TensorFlow is imported only "
            "when you ask."
        )
        if st.button("Run tf.nn.conv2d", key="tf_check"):
            with st.spinner("Importing TensorFlow…"):
                A_tf = explain.tensorflow_conv(
                    image.pixels[None], layer.W, layer.b, layer.pads, layer.stride, layer.activation
                )[0]
            difference = float(np.abs(A_tf - A).max())
            st.metric("max |cnnviz − TensorFlow|", f"{difference:.3g}")


step_through(image, layer, A, ijf)
tensorflow_check(image, layer, A)
