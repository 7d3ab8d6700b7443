"""cnnviz.nn.dense: the homework's 2-3-1 network, its conventions, gradients and example."""

import numpy as np
import pytest

from cnnviz.nn import dense


def random_case(n=7, seed=0):
    rng = np.random.default_rng(seed)
    weights = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3), "W2": rng.normal(size=3),
               "b2": float(rng.normal())}
    return rng.random((n, 2)), rng.integers(0, 2, size=n), weights


def test_shapes_follow_the_homework_conventions():
    X, Y_T, weights = random_case()
    Y, Z2, H, Z1 = dense.forward_propagation(X, weights)
    assert (Y.shape, Z2.shape, H.shape, Z1.shape) == ((7,), (7,), (7, 3), (7, 3))
    gradients, L = dense.back_propagation(X, Y_T, weights)
    assert {name: g.shape for name, g in gradients.items()} == {
        "W1": (3, 2), "b1": (1, 3), "W2": (3,), "b2": (1,)}
    assert isinstance(L, float)


def test_forward_is_two_sigmoid_layers_and_the_loss_is_half_the_mean_square():
    X, Y_T, weights = random_case()
    n = 2
    z1 = weights["W1"] @ X[n] + weights["b1"]
    y = 1 / (1 + np.exp(-(weights["W2"] @ (1 / (1 + np.exp(-z1))) + weights["b2"])))
    Y = dense.forward_propagation(X, weights)[0]
    assert Y[n] == pytest.approx(y)
    assert dense.back_propagation(X, Y_T, weights)[1] == pytest.approx(
        sum((Y - Y_T) ** 2) / (2 * len(X)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(seed):
    X, Y_T, weights = random_case(seed=seed)
    analytic = dense.back_propagation(X, Y_T, weights)[0]
    numeric = dense.numerical_gradients(X, Y_T, weights)
    for name in weights:
        assert numeric[name].shape == analytic[name].shape
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-5, atol=1e-9)
    rows = dense.gradient_check(X, Y_T, weights)
    assert len(rows) == 6 + 3 + 3 + 1 and max(row.error for row in rows) < 1e-5


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    X, Y_T, weights = random_case()
    right = dense.back_propagation

    def halved_W2(X, Y_T, weights):
        gradients, L = right(X, Y_T, weights)
        return {**gradients, "W2": gradients["W2"] / 2}, L

    monkeypatch.setattr(dense, "back_propagation", halved_W2)
    errors = {row.parameter: row.error for row in dense.gradient_check(X, Y_T, weights)}
    assert errors["W2"] == pytest.approx(0.5) and errors["W1"] < 1e-5


def test_homework_example_is_the_homeworks_draw():
    X, Y_T, weights = dense.homework_example()
    state = np.random.get_state()
    np.random.seed(0)
    expected = [np.random.randn(3, 2), np.zeros(3), np.random.randn(3), 0,
                np.random.rand(1000, 2), np.random.randint(0, 2, size=1000)]
    np.random.set_state(state)
    got = [weights["W1"], weights["b1"], weights["W2"], weights["b2"], X, Y_T]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert np.shape(weights["b2"]) == ()


def test_homework_example_leaves_the_global_random_state_alone():
    np.random.seed(123)
    before = np.random.rand()
    np.random.seed(123)
    dense.homework_example()
    assert np.random.rand() == before


def test_gradient_descent_lowers_the_loss_and_leaves_the_weights_given():
    X, Y_T, weights = dense.homework_example()
    start = {name: np.copy(value) for name, value in weights.items()}
    trained, losses = dense.gradient_descent(X, Y_T, weights, learning_rate=5.0, steps=50)
    assert losses.shape == (51,) and losses[-1] < losses[0]
    assert np.all(np.diff(losses) <= 1e-12)  # small steps: every step goes down
    assert losses[-1] == pytest.approx(dense.loss(X, Y_T, trained))
    for name in weights:
        np.testing.assert_array_equal(weights[name], start[name])
        assert np.shape(trained[name]) == np.shape(start[name])


def test_node_values_of_one_example_and_of_the_batch():
    X, Y_T, weights = dense.homework_example(50)
    batch = dense.node_values(X, Y_T, weights)
    each = [dense.node_values(X, Y_T, weights, n) for n in range(len(X))]
    for name in weights:  # the batch's gradient is the mean of the examples' own
        np.testing.assert_allclose(batch["gradients"][name],
                                   np.mean([e["gradients"][name] for e in each], axis=0))
    np.testing.assert_allclose(batch["dz1"], batch["gradients"]["b1"][0])
    np.testing.assert_allclose(batch["h"], np.mean([e["h"] for e in each], axis=0))
    assert each[3]["y_t"] == Y_T[3] and each[3]["x"].tolist() == X[3].tolist()
    with pytest.raises(ValueError, match="example must be an index from 0 to 49"):
        dense.node_values(X, Y_T, weights, 50)
