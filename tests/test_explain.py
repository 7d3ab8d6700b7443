"""cnnviz.nn.explain: step-through values, output size and floor counts, the full-convolution view
of dA_prev, tie counts, the gradient check, learning a kernel, and upload decoding."""


import numpy as np
import pytest

from cnnviz.nn import explain, kernels, ops

PADDINGS = ["valid", "same", (2, 1)]
STRIDES = [(1, 1), (2, 2), (3, 2)]


def layer(seed=0, c_prev=2, c_new=3, k=(3, 3)):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((2, 11, 10, c_prev)),
        rng.standard_normal((*k, c_prev, c_new)),
        rng.standard_normal((1, 1, 1, c_new)),
    )


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", STRIDES)
def test_conv_step_reproduces_every_output_value(padding, stride):
    A_prev, W, b = layer()
    pads = ops.resolve_padding(padding, A_prev.shape[1:3], W.shape[:2], stride)
    A = ops.conv_forward(A_prev, W, b, "tanh", padding, stride)
    for i, j, f in [(0, 0, 0), (A.shape[1] - 1, A.shape[2] - 1, 2), (A.shape[1] // 2, 1, 1)]:
        step = explain.conv_step(A_prev[1], W, b, pads, stride, "tanh", i, j, f)
        assert step.a == pytest.approx(A[1, i, j, f], abs=1e-12)
        assert step.z == pytest.approx(step.product.sum() + b[0, 0, 0, f])
        assert step.window.shape == step.product.shape == (3, 3, 2)


def test_size_formula_fills_in_the_numbers():
    lines = explain.size_formula((28, 28), (3, 3), ((0, 1), (1, 1)), (2, 3))
    assert lines[0].endswith("⌊(28 + 0 + 1 − 3) / 2⌋ + 1 = 14")
    assert lines[1].endswith("⌊(28 + 1 + 1 − 3) / 3⌋ + 1 = 10")


@pytest.mark.parametrize(
    "size, k, pads, stride, expected",
    [
        (28, 3, (0, 0), 1, 0),
        (28, 3, (0, 0), 2, 1),
        (28, 3, (0, 0), 3, 1),
        (28, 3, (1, 1), 3, 0),
        (28, 5, (0, 0), 4, 3),
        (5, 3, (0, 0), 2, 0),
    ],
)
def test_unvisited_counts_input_rows_no_window_reaches(size, k, pads, stride, expected):
    rows, cols = explain.unvisited((size, size), (k, k), (pads, pads), (stride, stride))
    assert rows == cols == expected
    # cross-check: a gradient of ones reaches exactly the visited rows
    A_prev = np.ones((1, size, size, 1))
    dA, _, _ = ops.conv_backward(
        np.ones(
            ops.conv_forward(
                A_prev, np.ones((k, k, 1, 1)), np.zeros((1, 1, 1, 1)), None, pads, (stride, stride)
            ).shape
        ),
        A_prev,
        np.ones((k, k, 1, 1)),
        np.zeros((1, 1, 1, 1)),
        pads,
        (stride, stride),
    )
    assert int((dA[0, :, 0, 0] == 0).sum()) == expected


def test_pool_step_finds_the_value_and_every_maximum():
    A_prev = np.array([[1.0, 3.0, 0.0], [3.0, 2.0, 5.0], [0.0, 0.0, 0.0]])[:, :, None]
    step = explain.pool_step(A_prev, (2, 2), (1, 1), "max", 0, 0, 0)
    assert step.value == 3 and np.array_equal(step.winners, [[False, True], [True, False]])
    assert explain.pool_step(A_prev, (2, 2), (1, 1), "avg", 0, 1, 0).value == pytest.approx(2.5)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride", STRIDES)
def test_dA_prev_by_full_convolution_equals_conv_backward(padding, stride):
    A_prev, W, b = layer(seed=1)
    pads = ops.resolve_padding(padding, A_prev.shape[1:3], W.shape[:2], stride)
    dZ = np.random.default_rng(2).standard_normal(
        ops.conv_forward(A_prev, W, b, None, padding, stride).shape
    )
    dA_prev, _, _ = ops.conv_backward(dZ, A_prev, W, b, padding, stride)
    full = explain.dA_prev_by_full_convolution(dZ, W, pads, stride, A_prev.shape[1:3])
    assert np.allclose(full, dA_prev, atol=1e-12)


def test_dilate_puts_stride_minus_one_zeros_between_entries():
    dZ = np.arange(1.0, 7.0).reshape(1, 2, 3, 1)
    dilated = explain.dilate(dZ, (3, 2))[0, :, :, 0]
    assert dilated.shape == (4, 5)
    assert np.array_equal(dilated[::3, ::2], dZ[0, :, :, 0]) and dilated.sum() == dZ.sum()
    assert np.array_equal(explain.dilate(dZ, (1, 1)), dZ)


def test_upstream_dZ_kinds():
    Z = np.arange(24.0).reshape(1, 3, 4, 2)
    assert np.array_equal(explain.upstream_dZ("all ones", Z), np.ones_like(Z))
    assert np.array_equal(
        explain.upstream_dZ("random", Z, seed=5), explain.upstream_dZ("random", Z, seed=5)
    )
    impulse = explain.upstream_dZ("impulse", Z, position=(2, 1, 1))
    assert impulse.sum() == 1 and impulse[0, 2, 1, 1] == 1
    assert np.array_equal(explain.upstream_dZ("target kernel", Z, T=Z - 1), np.ones_like(Z))
    with pytest.raises(ValueError, match="T must be"):
        explain.upstream_dZ("target kernel", Z)
    with pytest.raises(ValueError, match="kind must be one of"):
        explain.upstream_dZ("zeros", Z)


def test_impulse_reaches_only_its_receptive_field():
    A_prev, W, b = layer(seed=3, c_prev=1, c_new=1)
    Z = ops.conv_forward(A_prev, W, b, None, "valid", (2, 2))
    dA_prev, dW, _ = ops.conv_backward(
        explain.upstream_dZ("impulse", Z, position=(1, 2, 0)), A_prev, W, b, "valid", (2, 2)
    )
    reached = np.argwhere(dA_prev[0, :, :, 0] != 0)
    assert reached.min(axis=0).tolist() == [2, 4] and reached.max(axis=0).tolist() == [4, 6]
    assert np.allclose(dW[:, :, 0, 0], A_prev[:, 2:5, 4:7, 0].sum(axis=0))


def test_max_pool_ties_counts_windows_with_repeated_maximum():
    A_prev = np.array([[1.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 3.0]])[None, :, :, None]
    assert explain.max_pool_ties(A_prev, (2, 2), (2, 2)) == (1, 2)
    assert explain.max_pool_ties(np.zeros((1, 4, 4, 2)), (2, 2), (2, 2)) == (8, 8)


def test_gradient_check_agrees_on_every_sampled_entry():
    A_prev, W, b = layer(seed=4)
    dZ = np.random.default_rng(5).standard_normal(
        ops.conv_forward(A_prev, W, b, None, "same", (2, 1)).shape
    )
    rows = explain.gradient_check(A_prev, W, b, dZ, "same", (2, 1), samples=4)
    assert {r.parameter for r in rows} == {"A_prev", "W", "b"} and len(rows) == 4 + 4 + 3
    assert max(r.error for r in rows) < 1e-6


def test_gradient_check_samples_non_zero_gradients_first():
    A_prev, W, b = layer(seed=8, c_prev=1, c_new=1)
    Z = ops.conv_forward(A_prev, W, b, None, "valid", (1, 1))
    rows = explain.gradient_check(
        A_prev,
        W,
        b,
        explain.upstream_dZ("impulse", Z, position=(3, 3, 0)),
        "valid",
        (1, 1),
        samples=5,
    )
    assert all(r.analytic != 0 for r in rows if r.parameter in ("A_prev", "W"))


def test_gradient_check_reports_a_wrong_gradient():
    A_prev, W, b = layer(seed=4)
    dZ = np.ones(ops.conv_forward(A_prev, W, b, None, "valid", (1, 1)).shape)
    wrong = explain.gradient_check(A_prev, W, b, 2 * dZ, "valid", (1, 1), samples=2)
    right = explain.gradient_check(A_prev, W, b, dZ, "valid", (1, 1), samples=2)
    assert all(r.error < 1e-6 for r in right)
    assert np.allclose([r.analytic for r in wrong], [2 * r.analytic for r in right])


@pytest.mark.parametrize(
    "target, padding, stride", [("Sobel left", "same", (1, 1)), ("Gaussian blur", "valid", (2, 2))]
)
def test_learn_kernel_converges_to_the_target(target, padding, stride):
    rng = np.random.default_rng(6)
    A_prev = rng.random((1, 20, 20, 1))
    W_target = kernels.layer_weights([kernels.preset_kernel(target)], 1)
    pads = ops.resolve_padding(padding, A_prev.shape[1:3], W_target.shape[:2], stride)
    history = list(explain.learn_kernel(A_prev, W_target, pads, stride, steps=150))
    losses = [loss for _, loss, _ in history]
    assert [step for step, _, _ in history] == list(range(151))
    assert losses[-1] < 1e-6 * losses[0]
    assert np.allclose(history[-1][2], W_target, atol=1e-3)


@pytest.mark.tf
def test_tensorflow_conv_matches_conv_forward():
    A_prev, W, b = layer(seed=7)
    for padding, stride in [("same", (2, 2)), ((2, 1), (1, 3))]:
        pads = ops.resolve_padding(padding, A_prev.shape[1:3], W.shape[:2], stride)
        expected = ops.conv_forward(A_prev, W, b, "relu", padding, stride)
        assert np.allclose(
            explain.tensorflow_conv(A_prev, W, b, pads, stride, "relu"), expected, atol=1e-12
        )
