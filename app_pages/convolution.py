"""Convolution: a kernel, padding and stride on a real image, forward, one output at a time."""

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
        image.pixels[None], layer.W, layer.b, layer.activation, layer.pads, layer.stride
    )
    return A[0]


image = ui.input_picker()
editor_column, kernels_column = st.columns([2, 3])
with editor_column:
    layer = ui.conv_layer_ui(image, editable=True)
(image, layer), A = ui.guarded(forward, image, layer, name="conv")
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


def window_and_outputs(
    image: ui.InputImage, layer: ui.ConvLayer, A, step: explain.ConvStep, channel: int, ij, leftover
) -> None:
    """The input with the window of output (i, j) on it, beside the output maps (click a cell)."""
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
                window=(step.top - top, step.left - left_pad, *layer.W.shape[:2]),
                title=f"input: {image.caption}",
            ).update_layout(height=400),
            key="input",
        )
    with right:
        st.plotly_chart(
            figures.explorer.maps_figure(
                A, [f"output {f + 1}" for f in range(A.shape[2])], highlight=ij, clickable=True
            ).update_layout(height=400),
            key="outputs",
            on_select=lambda: ui.select_position("outputs", "conv_step"),
            selection_mode="points",
        )


def window_times_kernel(layer: ui.ConvLayer, A, step: explain.ConvStep, channel: int, ijf) -> None:
    """Window ⊙ kernel of one channel, and the sum, bias and activation that give output (i, j)."""
    i, j, f = ijf
    c_prev = layer.W.shape[2]
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


def sweep_ui(image: ui.InputImage, layer: ui.ConvLayer, A, channel: int, f: int) -> None:
    """On request, the window walking across the input while filter f's output fills in."""
    if st.toggle("▶ Walk the window across the image", key="conv_sweep"):
        st.plotly_chart(
            figures.explorer.sweep_figure(
                image.pixels[:, :, channel],
                layer.pads,
                A[:, :, f],
                layer.W.shape[:2],
                layer.stride,
                explain.sweep_positions(A.shape[:2]),
            ).update_layout(height=420),
            key="sweep",
        )


@st.fragment
def step_through(image: ui.InputImage, layer: ui.ConvLayer, A: np.ndarray, leftover) -> None:
    """One output value at a time, and the window's walk. A fragment: its own controls (position,
    channel, a click on the output map) rerun only this part of the page."""
    channel = channel_ui(image)
    st.subheader("Step through one output value")
    i, j, f = ui.position_ui(
        "Output", "conv_step", A.shape[:2], A.shape[2], default=ui.strongest(A[:, :, 0])
    )
    step = explain.conv_step(
        image.pixels, layer.W, layer.b, layer.pads, layer.stride, layer.activation, i, j, f
    )
    window_and_outputs(image, layer, A, step, channel, (i, j), leftover)
    window_times_kernel(layer, A, step, channel, (i, j, f))
    sweep_ui(image, layer, A, channel, f)


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
