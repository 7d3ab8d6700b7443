"""Homework: the 2-3-1 network from scratch, every value and gradient on it."""

import numpy as np
import streamlit as st

from cnnviz import figures, ui
from cnnviz.nn import dense, gradcheck

st.title("Homework: 2-3-1 network")
st.write(
    "Two inputs, three sigmoid units, one sigmoid output; L = 1/(2N) Σ (y − y_t)² over the "
    "homework's N = 1,000 random examples (`np.random.seed(0)`). Every number below comes from "
    "`cnnviz.dense.forward_propagation` and `back_propagation`."
)


@st.cache_data(show_spinner=False)
def homework_gradient_check() -> list:
    """dense.gradient_check on the homework's batch: the same for every student, computed once."""
    return dense.gradient_check(*dense.homework_example())


@st.cache_data(show_spinner=False, max_entries=256)
def homework_descent(learning_rate: float, steps: int) -> np.ndarray:
    """The losses of gradient descent on the homework's batch, once per setting for the class."""
    return dense.gradient_descent(*dense.homework_example(), learning_rate=learning_rate,
                                  steps=steps)[1]


@st.fragment
def network_ui() -> None:
    """The network drawn with one example's values and gradients, or the batch's means. A fragment:
    its own controls rerun only this section."""
    X, Y_T, homework_weights = dense.homework_example()
    columns = st.columns([1, 2])
    with columns[0]:
        view = ui.synced_choice("Show", "dense_view", ("one example", "batch mean"), url=False)
        example = None
        if view == "one example":
            example = ui.synced_number("Example", "dense_example", 0, (0, len(X) - 1))
    values = dense.node_values(X, Y_T, homework_weights, example)
    with columns[1]:
        st.caption(
            "Each edge: weight / dL/dweight (red positive, blue negative, thicker is larger). Each "
            "unit: z, its sigmoid, dL/dz (which is also dL/db) and its bias b. "
            + ("The gradients are those of this example's own loss ½(y − y_t)²."
               if example is not None else
               "Values are batch means; the gradients are those of L, the mean of the "
               "examples' own.")
        )
    network_title = (f"example {example}" if example is not None
                     else f"batch of {len(X):,}: L = {values['L']:.4f}")
    st.plotly_chart(figures.dense.network_figure(values, homework_weights, title=network_title),
                    key="dense_network")


def gradient_check_ui() -> None:
    """back_propagation against gradcheck's centred differences, every weight."""
    st.markdown(
        f"**Gradient check**: back_propagation against centred differences (ε = "
        f"{gradcheck.EPSILON:g}, float64) of L for every weight; {gradcheck.ERROR_LABEL} = "
        f"{gradcheck.ERROR_FORMULA}."
    )
    st.dataframe(gradcheck.table(homework_gradient_check()), hide_index=True)


@st.fragment
def descent_ui() -> None:
    """Gradient descent on the batch at the chosen rate and steps. A fragment: its sliders rerun
    only this section."""
    st.markdown("**Gradient descent** on the batch: w ← w − learning rate · dL/dw.")
    columns = st.columns(2)
    with columns[0]:
        rate = ui.synced_number("Learning rate", "dense_rate", 5.0, (0.1, 20.0),
                                widget=st.slider, step=0.1)
    with columns[1]:
        steps = ui.synced_number("Steps", "dense_steps", 100, (1, 500), widget=st.slider)
    losses = homework_descent(rate, steps)
    st.plotly_chart(figures.explorer.loss_figure(losses, title="loss L = 1/(2N) Σ (y − y_t)²"),
                    key="dense_loss")
    st.caption(
        f"L goes from {losses[0]:.4f} to {losses[-1]:.4f}. The homework's labels are "
        "random coin flips, unrelated to X, so the best the network can do is predict about ½ "
        "everywhere: L ≈ 1/2 · ¼ = 0.125."
    )


network_ui()
gradient_check_ui()
descent_ui()
