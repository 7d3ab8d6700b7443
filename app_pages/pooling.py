"""Pooling: max or average over windows of the input, one output cell at a time."""

import streamlit as st

from cnnviz import figures, ui
from cnnviz.nn import explain, ops

st.title("Pooling")
st.caption(
    "Each output cell is the maximum (or the mean) of one window of the input; windows are "
    "'valid', as in the course: no padding."
)


def forward(image: ui.InputImage, kernel_hw, stride, mode: str):
    """The pooled maps (h_new, w_new, c) of one image."""
    return ops.pool_forward(image.pixels[None], kernel_hw, stride, mode)[0]


image = ui.input_picker()
kernel_hw, stride, mode = ui.pool_ui()
(image, kernel_hw, stride, mode), A = ui.guarded(
    forward, image, kernel_hw, stride, mode, name="pool"
)
input_hw, no_pads = image.pixels.shape[:2], ((0, 0), (0, 0))

st.subheader("Output size")
st.code("\n".join(explain.size_formula(input_hw, kernel_hw, no_pads, stride)), language=None)
leftover = explain.unvisited(input_hw, kernel_hw, no_pads, stride)
if any(leftover):
    st.warning(
        f"The floor leaves {leftover[0]} row(s) at the bottom and {leftover[1]} column(s) at the "
        "right of the input that no window visits (shaded red)."
    )


@st.fragment
def step_through(image: ui.InputImage, kernel_hw, stride, mode: str, A, leftover) -> None:
    """One output cell and its window. A fragment: the position controls (and a click on the
    output map) rerun only this part of the page."""
    n_channels = A.shape[2]
    i, j, c = ui.position_ui(
        "Output", "pool_step", A.shape[:2], n_channels, "channel", default=ui.strongest(A[:, :, 0])
    )
    step = explain.pool_step(image.pixels, kernel_hw, stride, mode, i, j, c)
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(
            figures.explorer.input_figure(
                image.pixels[:, :, c],
                window=(step.top, step.left, *kernel_hw),
                leftover=leftover,
                winners=step.winners if mode == "max" else None,
                title=f"{image.caption}: window of output ({i}, {j})",
            ),
            key="pool_input",
        )
    with right:
        st.plotly_chart(
            figures.explorer.maps_figure(
                A,
                [f"{mode} pool: {name}" for name in image.channel_names],
                diverging=False,
                highlight=(i, j),
                clickable=True,
            ),
            key="pool_outputs",
            on_select=lambda: ui.select_position("pool_outputs", "pool_step"),
            selection_mode="points",
        )
    if mode == "max":
        ties = int(step.winners.sum())
        st.markdown(
            f"Output ({i}, {j}) = max of the window = **{step.value:.4g}**, reached at {ties} "
            f"position(s) (green dots)"
            + (": a tie, see the Backpropagation page." if ties > 1 else ".")
        )
    else:
        st.markdown(
            f"Output ({i}, {j}) = mean of the {kernel_hw[0]}x{kernel_hw[1]} window = "
            f"**{step.value:.4g}**."
        )
    st.plotly_chart(
        figures.explorer.maps_figure(
            step.window[:, :, None], ["the window's values"], diverging=False, text=True
        ).update_layout(height=260, width=320),
        key="pool_window",
    )


step_through(image, kernel_hw, stride, mode, A, leftover)
