"""Pooling: max or average over windows of the input, one output cell at a time."""

import streamlit as st

from cnnviz import ui
from cnnviz.nn import explain
from cnnviz.ui import tables

st.title("Pooling")
st.caption(
    "Each output cell is the maximum (or the mean) of one window of the input; windows are "
    "'valid', as in the course: no padding. Drag the mode, window, stride or the output cell "
    "below: the map is recomputed in your browser as you move."
)

image = ui.input_picker()
kernel_hw, stride, mode, (i, j, c) = ui.pool_scrub_ui(image)
input_hw, no_pads = image.pixels.shape[:2], ((0, 0), (0, 0))

st.subheader("Output size")
with st.container(key="size_formula"):  # inline code, not st.code: see tables.code_lines
    st.markdown(tables.code_lines(explain.size_formula(input_hw, kernel_hw, no_pads, stride)))
leftover = explain.unvisited(input_hw, kernel_hw, no_pads, stride)
if any(leftover):
    st.warning(
        f"The floor leaves {leftover[0]} row(s) at the bottom and {leftover[1]} column(s) at the "
        "right of the input that no window visits."
    )

step = explain.pool_step(image.pixels, kernel_hw, stride, mode, i, j, c)
if mode == "max":
    ties = int(step.winners.sum())
    st.markdown(
        f"Output ({i}, {j}) = max of the window = **{step.value:.4g}**, reached at {ties} "
        f"position(s) (marked ★)"
        + (": a tie, see the Backpropagation page." if ties > 1 else ".")
    )
else:
    st.markdown(
        f"Output ({i}, {j}) = mean of the {kernel_hw[0]}x{kernel_hw[1]} window = "
        f"**{step.value:.4g}**."
    )
