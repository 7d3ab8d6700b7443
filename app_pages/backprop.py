"""Backpropagation: where the gradients go through a convolution and a pooling layer."""

import numpy as np
import streamlit as st

from cnnviz import figures, ui
from cnnviz.nn import explain, gradcheck, kernels, ops

st.title("Backpropagation")
st.caption(
    "The layer is the one set on the Convolution page (sidebar). Choose the upstream gradient "
    "dZ and see dA_prev, dW and db that `conv_backward` returns."
)


def pre_activation(image: ui.InputImage, layer: ui.ConvLayer):
    """Z (1, h_new, w_new, c_new): the layer before its activation (dZ is the gradient of Z)."""
    return ops.conv_forward(image.pixels[None], layer.W, layer.b, None, layer.pads, layer.stride)


def preset_size(layer: ui.ConvLayer) -> int:
    """Side of the preset kernels offered as targets: the layer's kernel's, or 3 if not square."""
    return layer.W.shape[0] if layer.W.shape[0] == layer.W.shape[1] else 3


def upstream_gradient_ui(layer: ui.ConvLayer, A_prev: np.ndarray, Z: np.ndarray):
    """(kind, dZ): the upstream gradient (shape of Z) chosen here, with the controls of its kind."""
    c_prev, c_new = layer.W.shape[2:]
    kind = ui.synced_choice("Upstream gradient dZ", "dz", explain.DZ_KINDS, horizontal=True)
    seed, position, T = 0, (0, 0, 0), None
    if kind == "random":
        seed = ui.synced_number("Seed", "dz_seed", 0, (0, 10**6))
    elif kind == "impulse":
        st.caption(
            "A 1 at one output position (pick it below or click dZ): it reaches the inputs of that "
            "window (through the kernel) and the weights (through that window of the input)."
        )
        position = ui.position_ui(
            "Impulse at", "impulse", Z.shape[1:3], c_new, default=ui.strongest(Z[0, :, :, 0])
        )
    elif kind == "target kernel":
        size = preset_size(layer)
        target = ui.synced_choice(
            "Target kernel (T = conv with it)",
            "target",
            ui.available_presets(size),
            widget=st.selectbox,
        )
        W_target = kernels.layer_weights(
            [kernels.preset_kernel(target, size, fan_in_channels=c_prev)] * c_new, c_prev
        )
        T = ops.conv_forward(A_prev, W_target, layer.b, None, layer.pads, layer.stride)
        loss = 0.5 * float(((Z - T) ** 2).sum())
        st.caption(f"L = ½‖Z − T‖² = {loss:.4g}; dL/dZ = Z − T.")
    return kind, explain.upstream_dZ(kind, Z, seed=seed, position=position, T=T)


def gradient_maps(image: ui.InputImage, dZ, dA_prev, dW, db, *, clickable: bool) -> None:
    """dZ beside dA_prev, then dW per filter and db (a click on dZ moves the impulse)."""
    c_prev, c_new = dW.shape[2:]
    filter_titles = [f"filter {f + 1}" for f in range(c_new)]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            figures.explorer.maps_figure(
                dZ[0], [f"dZ, {t}" for t in filter_titles], clickable=clickable
            ),
            key="dZ",
            on_select=(lambda: ui.select_position("dZ", "impulse")) if clickable else "ignore",
            selection_mode="points",
        )
    with right:
        st.plotly_chart(
            figures.explorer.maps_figure(
                dA_prev[0],
                ["dA_prev" + (f", {name}" if c_prev > 1 else "") for name in image.channel_names],
            ),
            key="dA_prev",
        )
    st.plotly_chart(
        figures.explorer.kernels_figure(
            [dW[:, :, 0, f] for f in range(c_new)],
            [f"dW, {t}" + (" (channel 1)" if c_prev > 1 else "") for t in filter_titles],
        ).update_layout(height=260),
        key="dW",
    )
    st.markdown("db = Σ dZ per filter: " + ", ".join(f"**{v:.4g}**" for v in db.ravel()))


def full_convolution_ui(image: ui.InputImage, layer: ui.ConvLayer, dZ, dA_prev) -> None:
    """dA_prev as the dilated dZ fully convolved with the kernel rotated 180° (on request)."""
    full = st.expander("dA_prev as a full convolution", key="bp_full", on_change="rerun")
    with full:
        if not full.open:
            return
        st.write(
            f"Insert stride − 1 = {layer.stride[0] - 1}, {layer.stride[1] - 1} zeros between the "
            "entries of dZ, pad it with kernel − 1 zeros, and cross-correlate with the kernel "
            "rotated by 180°: that is dA_prev."
        )
        dA_full = explain.dA_prev_by_full_convolution(
            dZ, layer.W, layer.pads, layer.stride, image.pixels.shape[:2]
        )
        columns = st.columns([2, 1, 2])
        with columns[0]:
            st.plotly_chart(
                figures.explorer.maps_figure(
                    explain.dilate(dZ, layer.stride)[0, :, :, :1], ["dZ of filter 1, dilated"]
                ).update_layout(height=330),
                key="dilated",
            )
        with columns[1]:
            st.plotly_chart(
                figures.explorer.kernels_figure(
                    [layer.W[::-1, ::-1, 0, 0]], ["kernel rotated 180°"]
                ).update_layout(height=250),
                key="rotated",
            )
            st.metric(
                "max |conv_backward − full convolution|",
                f"{float(np.abs(dA_full - dA_prev).max()):.3g}",
            )
        with columns[2]:
            st.plotly_chart(
                figures.explorer.maps_figure(
                    dA_full[0, :, :, :1], ["full convolution = dA_prev"]
                ).update_layout(height=330),
                key="full",
            )
        if layer.W.shape[3] > 1:
            st.caption(
                "The right map sums every filter's contribution; the left one shows filter 1's dZ."
            )


def gradient_check_ui(A_prev: np.ndarray, layer: ui.ConvLayer, dZ: np.ndarray) -> None:
    """conv_backward against gradcheck's centred differences on sampled entries (on request)."""
    check = st.expander("Numerical gradient check", key="bp_check", on_change="rerun")
    with check:
        if not check.open:
            return
        rows = explain.gradient_check(A_prev, layer.W, layer.b, dZ, layer.pads, layer.stride)
        st.caption(
            f"L = Σ dZ ⊙ Z; centred differences (ε = {gradcheck.EPSILON:g}, float64) on sampled "
            f"entries against conv_backward; {gradcheck.ERROR_LABEL} = {gradcheck.ERROR_FORMULA}."
        )
        st.dataframe(gradcheck.table(rows), hide_index=True)


@st.fragment
def conv_backward_ui(image: ui.InputImage, layer: ui.ConvLayer, Z: np.ndarray) -> None:
    """dZ, chosen here, through conv_backward: dA_prev, dW, db, dA_prev as a full convolution and
    the numerical gradient check. A fragment: the dZ controls rerun only this part of the page."""
    A_prev = image.pixels[None]
    st.subheader("Conv backward")
    kind, dZ = upstream_gradient_ui(layer, A_prev, Z)
    dA_prev, dW, db = ops.conv_backward(dZ, A_prev, layer.W, layer.b, layer.pads, layer.stride)
    gradient_maps(image, dZ, dA_prev, dW, db, clickable=kind == "impulse")
    full_convolution_ui(image, layer, dZ, dA_prev)
    gradient_check_ui(A_prev, layer, dZ)


def pool_routes(A_prev, kernel_hw, pool_stride, dA_kind: str):
    """dA_prev of max pooling under both tie rules, and of avg pooling, for the same dA."""
    dA = explain.upstream_dZ(
        dA_kind, ops.pool_forward(A_prev, kernel_hw, pool_stride, "max"), seed=1
    )
    routes = {
        "max (all maxima, course)": ops.pool_backward(
            dA, A_prev, kernel_hw, pool_stride, tie_break="all"
        ),
        "max (first maximum, TensorFlow)": ops.pool_backward(
            dA, A_prev, kernel_hw, pool_stride, tie_break="first"
        ),
        "avg": ops.pool_backward(dA, A_prev, kernel_hw, pool_stride, "avg"),
    }
    return dA, routes


@st.fragment
def pool_backward_ui(A_prev: np.ndarray, kernel_hw, pool_stride) -> None:
    """dA through max pooling under both tie rules, and through avg pooling. A fragment: the dA
    choice reruns only this part of the page."""
    dA_kind = ui.synced_choice(
        "Upstream gradient dA", "pool_dA", ("all ones", "random"), horizontal=True
    )
    (pooled_input, kernel_hw, pool_stride, _), (dA, routes) = ui.guarded(
        pool_routes, A_prev, kernel_hw, pool_stride, dA_kind, name="backprop_pool"
    )
    st.plotly_chart(
        figures.explorer.maps_figure(
            np.concatenate([g[0, :, :, :1] for g in routes.values()], axis=2), list(routes)
        ),
        key="pool_grads",
    )
    tied, windows = explain.max_pool_ties(pooled_input, kernel_hw, pool_stride)
    sums = {name: float(g.sum()) for name, g in routes.items()}
    st.markdown(
        f"**{tied} of {windows}** max-pool windows on this image have a tied maximum (often "
        f"all-zero background). Σ dA = {float(dA.sum()):.4g}. The course's rule gives the window's "
        f"gradient to every maximum (Σ dA_prev = {sums['max (all maxima, course)']:.4g}); "
        f"TensorFlow's gives it to the first one only (Σ dA_prev = "
        f"{sums['max (first maximum, TensorFlow)']:.4g} = Σ dA: one position per window)."
    )


@st.fragment
def learn_ui(A_prev: np.ndarray, layer: ui.ConvLayer) -> None:
    """Gradient descent on W towards a preset kernel, the loss curve drawn as it runs. A fragment:
    its controls and its button rerun only this part of the page."""
    c_prev, size = layer.W.shape[2], preset_size(layer)
    st.subheader("Learn the kernel")
    st.write(
        "Gradient descent on W, from a random start, so that conv(X, W) matches conv(X, target): "
        "each step's gradient comes from `conv_backward`."
    )
    columns = st.columns(3)
    with columns[0]:
        targets = ui.available_presets(size)
        goal = ui.synced_choice(
            "Target",
            "learn_target",
            targets,
            widget=st.selectbox,
            url=False,
            default="Sobel left" if "Sobel left" in targets else None,
        )
    with columns[1]:
        steps = ui.synced_number("Steps", "learn_steps", 60, (5, 500), widget=st.slider)
    with columns[2]:
        momentum = ui.synced_number(
            "Momentum", "learn_momentum", 0.9, (0.0, 0.95), widget=st.slider
        )
    chart, kernel_view = st.empty(), st.empty()

    def show_learning(losses: list[float], W, W_goal, goal: str, key: str) -> None:
        """The loss curve so far and the kernel next to its target (first input channel)."""
        chart.plotly_chart(figures.explorer.loss_figure(losses), key=f"loss_{key}")
        kernel_view.plotly_chart(
            figures.explorer.kernels_figure(
                [W[:, :, 0, 0], W_goal[:, :, 0, 0]],
                [f"W after {len(losses) - 1} steps", f"target: {goal}"],
            ).update_layout(height=260),
            key=f"learned_{key}",
        )

    if st.button("Run gradient descent", key="learn"):
        W_goal = kernels.layer_weights(
            [kernels.preset_kernel(goal, size, fan_in_channels=c_prev)], c_prev
        )
        losses = []
        for step, loss, W in explain.learn_kernel(
            A_prev, W_goal, layer.pads, layer.stride, steps=steps, momentum=momentum
        ):
            losses.append(loss)
            if step % 5 == 0 or step == steps:
                show_learning(losses, W, W_goal, goal, str(step))
        st.session_state["learned"] = (losses, W, W_goal, goal)
    elif "learned" in st.session_state:
        st.caption("The last run (press the button to run again with the settings above).")
        show_learning(*st.session_state["learned"], "last")


image = ui.input_picker()
layer = ui.conv_layer_ui(image)
(image, layer), Z = ui.guarded(pre_activation, image, layer, name="backprop")
conv_backward_ui(image, layer, Z)
st.subheader("Pool backward")
kernel_hw, pool_stride, _ = ui.pool_ui()
pool_backward_ui(image.pixels[None], kernel_hw, pool_stride)
learn_ui(image.pixels[None], layer)

