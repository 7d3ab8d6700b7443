"""cnnviz.nn.ops against TensorFlow (forward and gradients), finite differences, the loop reference,
the course's worked examples, and every ValueError path. The checks that hold for any
implementation run on both cnnviz.ops and its loop reference cnnviz.loops (same signatures)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.nn import loops, ops
from cnnviz.nn.gradcheck import numerical_gradient

tf = pytest.importorskip("tensorflow")  # a listed requirement: this skip never hides a feature

TIGHT = {"rtol": 1e-10, "atol": 1e-10}  # float64 against float64
IMPLEMENTATIONS = [ops, loops]  # CS231n's fast/naive pair: one list swaps what the checks run on
each_implementation = pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=lambda m: m.__name__)


def tf_padding(padding):
    """TensorFlow's padding argument for one of ours."""
    if isinstance(padding, str):
        return padding.upper()
    return [[0, 0], [padding[0]] * 2, [padding[1]] * 2, [0, 0]]


@st.composite
def conv_layers(draw):
    """(A_prev, W, b, padding, stride, dilation) of a random valid float64 layer."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (2, 2)]))
    padding = draw(st.sampled_from(["valid", "same", (0, 1), (1, 0), (2, 1)]))
    h = draw(st.integers((kh - 1) * dilation[0] + 1, 9))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, 9))
    m, c_prev, c_new = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.standard_normal((m, h, w, c_prev)), rng.standard_normal((kh, kw, c_prev, c_new)),
            rng.standard_normal((1, 1, 1, c_new)), padding, stride, dilation)


@each_implementation
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_layers())
def test_conv_forward_and_backward_match_tensorflow(impl, layer):
    A_prev, W, b, padding, stride, dilation = layer
    # TensorFlow's CPU conv2d has no dilation: give it the kernel with the zeros written out
    (kh, kw), (dh, dw) = W.shape[:2], dilation
    W_dilated = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1, *W.shape[2:]))
    W_dilated[::dh, ::dw] = W
    A_t, W_t = tf.constant(A_prev), tf.constant(W_dilated)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([A_t, W_t])
        Z_t = tf.nn.conv2d(A_t, W_t, stride, tf_padding(padding)) + b
    Z = impl.conv_forward(A_prev, W, b, None, padding, stride, dilation=dilation)
    np.testing.assert_allclose(Z, Z_t.numpy(), **TIGHT)

    dZ = np.random.default_rng(1).standard_normal(Z.shape)
    dA_t, dW_t = tape.gradient(Z_t, [A_t, W_t], output_gradients=tf.constant(dZ))
    dA_prev, dW, db = impl.conv_backward(dZ, A_prev, W, b, padding, stride, dilation=dilation)
    np.testing.assert_allclose(dA_prev, dA_t.numpy(), **TIGHT)
    np.testing.assert_allclose(dW, dW_t.numpy()[::dh, ::dw], **TIGHT)
    np.testing.assert_allclose(db, dZ.sum(axis=(0, 1, 2)).reshape(b.shape), **TIGHT)


@st.composite
def pool_layers(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h, w = draw(st.integers(kh, 9)), draw(st.integers(kw, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # distinct values: no ties, so both tie rules must agree with TensorFlow
    A_prev = rng.permutation(2 * 3 * h * w).reshape(2, h, w, 3) / 7.0
    return A_prev, (kh, kw), stride


@each_implementation
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool_layers(), st.sampled_from(["max", "avg"]))
def test_pool_forward_and_backward_match_tensorflow(impl, layer, mode):
    A_prev, kernel, stride = layer
    pool = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    A_t = tf.constant(A_prev)
    with tf.GradientTape() as tape:
        tape.watch(A_t)
        out_t = pool(A_t, kernel, stride, "VALID")
    A = impl.pool_forward(A_prev, kernel, stride, mode)
    np.testing.assert_allclose(A, out_t.numpy(), **TIGHT)
    dA = np.random.default_rng(2).standard_normal(A.shape)
    expected = tape.gradient(out_t, A_t, output_gradients=tf.constant(dA)).numpy()
    for tie_break in ("all", "first"):
        dA_prev = impl.pool_backward(dA, A_prev, kernel, stride, mode, tie_break=tie_break)
        np.testing.assert_allclose(dA_prev, expected, **TIGHT)


@each_implementation
def test_pool_backward_tie_rules_on_tied_maxima(impl):
    A_prev = np.zeros((1, 4, 4, 1))  # every window ties: all four positions are maxima
    A_prev[0, 0, 0, 0] = 1.0  # except the top-left window, which has one maximum
    dA = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    A_t = tf.constant(A_prev)
    with tf.GradientTape() as tape:
        tape.watch(A_t)
        out_t = tf.nn.max_pool2d(A_t, 2, 2, "VALID")
    tf_grad = tape.gradient(out_t, A_t, output_gradients=tf.constant(dA)).numpy()
    first = impl.pool_backward(dA, A_prev, (2, 2), (2, 2), "max", tie_break="first")
    np.testing.assert_array_equal(first, tf_grad)
    every = impl.pool_backward(dA, A_prev, (2, 2), (2, 2), "max")
    expected = np.kron(dA[0, :, :, 0], np.ones((2, 2)))  # each tied window sends dA to all 4
    expected[0:2, 0:2] = [[1, 0], [0, 0]]
    np.testing.assert_array_equal(every[0, :, :, 0], expected)
    assert every.sum() == 1 + 4 * (2 + 3 + 4) and first.sum() == dA.sum()


@each_implementation
def test_pool_backward_overlapping_windows_accumulate(impl):
    A_prev = np.array([1.0, 5.0, 2.0, 0.0]).reshape(1, 1, 4, 1)  # 5 is the max of two windows
    dA = np.array([10.0, 20.0, 30.0]).reshape(1, 1, 3, 1)
    dA_prev = impl.pool_backward(dA, A_prev, (1, 2), (1, 1), "max")
    np.testing.assert_array_equal(dA_prev.ravel(), [0, 30, 30, 0])


@each_implementation
@pytest.mark.parametrize("padding, stride", [("same", (1, 1)), ("valid", (2, 1)), ((1, 2), (2, 3))])
def test_conv_backward_matches_finite_differences(impl, padding, stride):
    rng = np.random.default_rng(3)
    A_prev, W = rng.standard_normal((2, 5, 6, 2)), rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal((1, 1, 1, 3))
    dZ = rng.standard_normal(impl.conv_forward(A_prev, W, b, None, padding, stride).shape)

    def loss(_):  # reads the variable numerical_gradient has just shifted
        return np.sum(impl.conv_forward(A_prev, W, b, None, padding, stride) * dZ)

    dA_prev, dW, db = impl.conv_backward(dZ, A_prev, W, b, padding, stride)
    for analytic, variable in ((dA_prev, A_prev), (dW, W), (db, b)):
        np.testing.assert_allclose(analytic, numerical_gradient(loss, variable), rtol=1e-6,
                                   atol=1e-7)


@each_implementation
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_backward_matches_finite_differences(impl, mode):
    A_prev = np.random.default_rng(4).standard_normal((2, 5, 5, 2))
    dA = np.random.default_rng(5).standard_normal(
        impl.pool_forward(A_prev, (2, 3), (1, 2), mode).shape)

    def loss(_):
        return np.sum(impl.pool_forward(A_prev, (2, 3), (1, 2), mode) * dA)

    analytic = impl.pool_backward(dA, A_prev, (2, 3), (1, 2), mode)
    np.testing.assert_allclose(analytic, numerical_gradient(loss, A_prev), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("c_prev", [1, 3])  # windows copied tap by tap (runs of 3), as rows (of 9)
def test_ops_agree_with_the_loop_reference_in_several_blocks(monkeypatch, threads, c_prev):
    monkeypatch.setattr(ops, "_BLOCK_BYTES", 2048)  # forces many blocks, some of them partial
    monkeypatch.setattr(ops, "_THREADS", threads)  # runs of blocks on up to 3 threads at once
    monkeypatch.setattr(ops, "_MIN_BLOCKS_PER_THREAD", 1)
    rng = np.random.default_rng(6)
    A_prev, W = rng.standard_normal((7, 9, 8, c_prev)), rng.standard_normal((3, 3, c_prev, 4))
    b = rng.standard_normal((1, 1, 1, 4))
    Z = ops.conv_forward(A_prev, W, b, None, (1, 2), (2, 1))
    np.testing.assert_allclose(Z, loops.conv_forward(A_prev, W, b, None, (1, 2), (2, 1)), **TIGHT)
    A = ops.conv_forward(A_prev, W, b, "tanh", (1, 2), (2, 1))  # activation applied block by block
    np.testing.assert_allclose(A, np.tanh(Z), **TIGHT)
    dZ = rng.standard_normal(Z.shape)
    for ours, reference in zip(ops.conv_backward(dZ, A_prev, W, b, (1, 2), (2, 1)),
                               loops.conv_backward(dZ, A_prev, W, b, (1, 2), (2, 1))):
        np.testing.assert_allclose(ours, reference, **TIGHT)
    for mode in ("max", "avg"):
        A = ops.pool_forward(A_prev, (3, 2), (2, 2), mode)
        np.testing.assert_allclose(A, loops.pool_forward(A_prev, (3, 2), (2, 2), mode), **TIGHT)
        np.testing.assert_allclose(ops.pool_backward(A, A_prev, (3, 2), (2, 2), mode),
                                   loops.pool_backward(A, A_prev, (3, 2), (2, 2), mode), **TIGHT)


@each_implementation
def test_conv_forward_course_example_gives_4_top_left(impl):
    image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                      [0, 1, 1, 0, 0]])
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    Z = impl.conv_forward(image[None, :, :, None], kernel[:, :, None, None],
                          np.zeros((1, 1, 1, 1)), None, "valid")
    np.testing.assert_array_equal(Z[0, :, :, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_course_shapes_on_50000_images():
    A_prev = np.zeros((50000, 28, 28, 1), dtype=np.float32)
    W, b = np.ones((3, 3, 1, 2), dtype=np.float32), np.zeros((1, 1, 1, 2), dtype=np.float32)
    assert ops.conv_forward(A_prev, W, b, np.tanh, "valid").shape == (50000, 26, 26, 2)
    pooled = ops.pool_forward(np.zeros((50000, 28, 28, 2), dtype=np.float32), (2, 2), (2, 2))
    assert pooled.shape == (50000, 14, 14, 2)


@each_implementation
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_preserve_dtype(impl, dtype):
    A_prev, W, b = (np.ones((1, 6, 6, 2), dtype), np.ones((3, 3, 2, 2), dtype),
                    np.ones((1, 1, 1, 2), dtype))
    Z = impl.conv_forward(A_prev, W, b, "relu")
    assert Z.dtype == dtype
    assert {g.dtype for g in impl.conv_backward(Z, A_prev, W, b)} == {np.dtype(dtype)}
    A = impl.pool_forward(A_prev, (2, 2), (2, 2), "avg")
    assert A.dtype == dtype and impl.pool_backward(A, A_prev, (2, 2), (2, 2), "avg").dtype == dtype


def test_resolve_padding_takes_resolved_pads_as_they_are():
    pads = ops.resolve_padding("same", (5, 6), (3, 2), (2, 1))
    assert ops.resolve_padding(pads, (5, 6), (3, 2), (2, 1)) == pads
    assert ops.resolve_padding(((0, 2), (1, 0)), (5, 6), (3, 2), (1, 1)) == ((0, 2), (1, 0))
    A_prev, W, b = np.ones((1, 5, 6, 1)), np.ones((3, 2, 1, 1)), np.zeros((1, 1, 1, 1))
    np.testing.assert_array_equal(ops.conv_forward(A_prev, W, b, None, pads, (2, 1)),
                                  ops.conv_forward(A_prev, W, b, None, "same", (2, 1)))
    with pytest.raises(ValueError, match="padding"):
        ops.resolve_padding(((0, -1), (1, 0)), (5, 6), (3, 2), (1, 1))


@pytest.mark.parametrize("size, kernel, stride",
                         [(28, 5, 1), (28, 2, 2), (7, 4, 3), (10, 3, 4), (5, 6, 2)])
def test_same_padding_follows_tensorflow(size, kernel, stride):
    (top, bottom), (left, right) = ops.resolve_padding("same", (size, size), (kernel, kernel),
                                                       (stride, stride))
    assert ops.conv_output_hw((size, size), (kernel, kernel), "same", (stride, stride)) == (
        (-(-size // stride),) * 2)
    assert bottom - top in (0, 1) and (top, bottom) == (left, right)


def test_activations_and_their_gradients():
    Z = np.array([-2.0, -0.5, 0.5, 2.0])
    for name, function in ops.ACTIVATIONS.items():
        apply = (lambda x: x) if function is None else function
        A = apply(Z)
        numeric = numerical_gradient(lambda z, apply=apply: np.sum(apply(z)), Z)
        np.testing.assert_allclose(ops.activation_grad(name, Z, A), numeric, rtol=1e-6)
    with pytest.raises(ValueError, match="activation"):
        ops.activation_grad("swish", Z, Z)


A_OK, W_OK, B_OK = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), np.zeros((1, 1, 1, 4))


@pytest.mark.parametrize("call, match", [
    (lambda: ops.conv_forward(np.ones((5, 5, 2)), W_OK, B_OK, None), "A_prev must be 4-D"),
    (lambda: ops.conv_forward(A_OK, np.ones((3, 3, 2)), B_OK, None), "W must be 4-D"),
    (lambda: ops.conv_forward(A_OK, np.ones((3, 3, 1, 4)), B_OK, None), "input channels"),
    (lambda: ops.conv_forward(A_OK, W_OK, np.zeros(4), None), "b must have shape"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, None, "valid", (0, 1)), "stride"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, None, "valid", (1.5, 1)), "stride"),
    (lambda: ops.conv_forward(A_OK, np.ones((0, 3, 2, 4)), B_OK, None),
     "W must have every dimension"),
    (lambda: ops.conv_forward(A_OK, np.ones((7, 3, 2, 4)), B_OK, None, "valid"),
     "larger than the padded"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, None, "full"), "padding"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, None, (-1, 0)), "padding"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, "gelu"), "activation"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, 3), "activation"),
    (lambda: ops.conv_forward(A_OK, W_OK, B_OK, None, dilation=(0, 1)), "dilation"),
    (lambda: ops.conv_backward(np.ones((1, 4, 4, 4)), A_OK, W_OK, B_OK), "dZ has shape"),
    (lambda: ops.conv_backward(np.ones((4, 4, 4)), A_OK, W_OK, B_OK), "dZ must be 4-D"),
    (lambda: ops.pool_forward(A_OK, (2, 2), (1, 1), "min"), "mode"),
    (lambda: ops.pool_forward(A_OK, (0, 2)), "kernel_shape"),
    (lambda: ops.pool_forward(A_OK, (6, 2)), "larger than the padded"),
    (lambda: ops.pool_forward(np.ones((5, 5)), (2, 2)), "A_prev must be 4-D"),
    (lambda: ops.pool_backward(np.ones((1, 2, 2, 2)), A_OK, (2, 2), (2, 2), "max",
                               tie_break="last"),
     "tie_break"),
    (lambda: ops.pool_backward(np.ones((1, 3, 3, 2)), A_OK, (2, 2), (2, 2)), "dA has shape"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lenet5_second_layer_matches_tensorflow_in_float32():
    # 128 x 14x14x6 * 5x5x6x16: windows copied as rows, several blocks
    rng = np.random.default_rng(7)
    A_prev = rng.random((128, 14, 14, 6), dtype=np.float32)
    W = rng.standard_normal((5, 5, 6, 16)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 16)).astype(np.float32)
    expected = tf.nn.relu(tf.nn.conv2d(A_prev, W, 1, "VALID") + b).numpy()
    np.testing.assert_allclose(ops.conv_forward(A_prev, W, b, "relu", "valid"), expected, atol=1e-4)
