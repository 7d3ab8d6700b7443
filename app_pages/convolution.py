"""Convolution: a kernel, padding and stride on a real image, forward, one output value at a time."""

import numpy as np
import streamlit as st

from cnnviz import figures, ui
from cnnviz.nn import explain, ops

st.title("Convolution")
st.caption(
    "Pick kernels, padding and stride in the sidebar; every output value is a window of the "
    "input times the kernel, summed, plus the bias, through the activation."
)


def forward(image: ui.InputImage, layer: ui.ConvLayer):
    """The layer's output A (h_new, w_new, c_new) for one image."""
    A = ops.conv_forward(
        image.pixels[None], layer.W, layer.b, layer.activation, layer.padding, layer.stride
    )
    return image, layer, A[0]


image = ui.input_picker()
editor_column, kernels_column = st.columns([2, 3])
with editor_column:
    layer = ui.conv_layer_ui(image, editable=True)
image, layer, A = ui.guarded(forward, image, layer, name="conv")
c_prev, c_new = layer.W.shape[2:]
input_hw, kernel_hw = image.pixels.shape[:2], layer.W.shape[:2]

with kernels_column:
    st.plotly_chart(
        figures.explorer.kernels_figure(
            [layer.W[:, :, 0, f] for f in range(c_new)],
            [f"{f + 1}: {p}" for f, p in enumerate(layer.presets)],
        ).update_layout(height=300),
        key="kernels",
    )

st.subheader("Output size")
st.code(
    "\n".join(explain.size_formula(input_hw, kernel_hw, layer.pads, layer.stride)), language=None
)
leftover = explain.unvisited(input_hw, kernel_hw, layer.pads, layer.stride)
if any(leftover):
    st.warning(
        f"The floor in the formula leaves {leftover[0]} row(s) at the bottom and {leftover[1]} "
        "column(s) at the right of the input that no window visits (shaded red): they do not "
        "affect the output, and their gradient is zero."
    )


@st.fragment
def step_through(image: ui.InputImage, layer: ui.ConvLayer, A: np.ndarray, leftover) -> None:
    """One output value at a time, and the window's walk. A fragment: its own controls (position,
    channel, a click on the output map) rerun only this part of the page."""
    c_prev, c_new = layer.W.shape[2:]
    kernel_hw = layer.W.shape[:2]
    channel = 0
    if c_prev > 1:
        channel = st.radio(
            "Input channel shown",
            range(c_prev),
            format_func=lambda c: image.channel_names[c],
            horizontal=True,
            key="conv_channel",
        )
    st.subheader("Step through one output value")
    i, j, f = ui.position_ui(
        "Output", "conv_step", A.shape[:2], c_new, default=ui.strongest(A[:, :, 0])
    )
    step = explain.conv_step(
        image.pixels, layer.W, layer.b, layer.pads, layer.stride, layer.activation, i, j, f
    )
    (top, _), (left_pad, _) = layer.pads
    st.caption(
        "Zero padding is drawn outside the dashed line; the orange square is the receptive field "
        "of the output cell outlined on the right. Hover for values."
    )
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(
            figures.explorer.input_figure(
                image.pixels[:, :, channel],
                layer.pads,
                leftover=leftover,
                window=(step.top - top, step.left - left_pad, *kernel_hw),
                title=f"input: {image.caption}",
            ).update_layout(height=400),
            key="input",
        )
    with right:
        st.plotly_chart(
            figures.explorer.maps_figure(
                A, [f"output {f + 1}" for f in range(c_new)], highlight=(i, j), clickable=True
            ).update_layout(height=400),
            key="outputs",
            on_select=lambda: ui.select_position("outputs", "conv_step"),
            selection_mode="points",
        )
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            figures.explorer.step_figure(
                step.window[:, :, channel], step.kernel[:, :, channel], step.product[:, :, channel]
            ).update_layout(height=300),
            key="step",
        )
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

    if st.toggle("▶ Walk the window across the image", key="conv_sweep"):
        positions = explain.sweep_positions(A.shape[:2])
        st.plotly_chart(
            figures.explorer.sweep_figure(
                image.pixels[:, :, channel],
                layer.pads,
                A[:, :, f],
                kernel_hw,
                layer.stride,
                positions,
            ).update_layout(height=420),
            key="sweep",
        )


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


step_through(image, layer, A, leftover)
tensorflow_check(image, layer, A)
