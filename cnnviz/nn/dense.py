"""The homework's network from scratch: 2 inputs -> 3 sigmoid units -> 1 sigmoid output, in NumPy.

Loss L = 1/(2N) Σ (Y − Y_T)² over N examples. The homework's conventions: X (N, 2), Y_T (N,) of 0
and 1, weights = {"W1": (3, 2), "b1": (3,), "W2": (3,), "b2": scalar}; gradients have the same
keys, dW1 (3, 2), db1 (1, 3), dW2 (3,), db2 (1,).

    X, Y_T, weights = homework_example()
    gradients, L = back_propagation(X, Y_T, weights)
"""

import numpy as np

from cnnviz.nn import gradcheck
from cnnviz.nn.gradcheck import GradientCheckRow

HIDDEN = 3


def sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def forward_propagation(X, weights):
    """X (N, 2) -> (Y (N,), Z2 (N,), H (N, 3), Z1 (N, 3)); Z1 = X W1ᵀ + b1, H = σ(Z1),
    Z2 = H W2 + b2, Y = σ(Z2)."""
    Z1 = X @ weights["W1"].T + weights["b1"]  # (N, 3)
    H = sigmoid(Z1)
    Z2 = H @ weights["W2"] + weights["b2"]  # (N,)
    Y = sigmoid(Z2)
    return Y, Z2, H, Z1


def loss(X, Y_T, weights) -> float:
    """L = 1/(2N) Σ (Y − Y_T)²."""
    Y = forward_propagation(X, weights)[0]
    return float(np.sum((Y - Y_T) ** 2) / (2 * len(X)))


def back_propagation(X, Y_T, weights):
    """(gradients, L): dL/d of every weight, keys W1 (3, 2), b1 (1, 3), W2 (3,), b2 (1,)."""
    Y, _, H, _ = forward_propagation(X, weights)
    N = len(X)
    L = float(np.sum((Y - Y_T) ** 2) / (2 * N))
    dZ2 = (Y - Y_T) / N * Y * (1 - Y)  # (N,): dL/dY times σ'(Z2)
    dH = np.outer(dZ2, weights["W2"])  # (N, 3)
    dZ1 = dH * H * (1 - H)  # (N, 3)
    gradients = {
        "W1": dZ1.T @ X,  # (3, 2)
        "b1": dZ1.sum(axis=0, keepdims=True),  # (1, 3)
        "W2": H.T @ dZ2,  # (3,)
        "b2": dZ2.sum(keepdims=True),  # (1,)
    }
    return gradients, L


def homework_example(n: int = 1000):
    """(X (n, 2), Y_T (n,), weights) exactly as the homework draws them after np.random.seed(0):
    W1 = randn(3, 2), b1 = zeros(3), W2 = randn(3), b2 = 0, X = rand(n, 2), Y = randint(0, 2, n).

    A RandomState(0) of its own gives the same numbers without touching NumPy's global state."""
    random = np.random.RandomState(0)
    W1 = random.randn(HIDDEN, 2)
    b1 = np.zeros(HIDDEN)
    W2 = random.randn(HIDDEN)
    b2 = 0.0
    X = random.rand(n, 2)
    Y_T = random.randint(0, 2, size=n)
    return X, Y_T, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def numerical_gradients(X, Y_T, weights, epsilon: float = gradcheck.EPSILON):
    """gradcheck.numerical_gradient of L for every weight entry, float64; shaped like
    back_propagation's gradients."""
    gradients = {}
    for name, value in weights.items():
        shifted, shape = np.atleast_1d(np.array(value, dtype=np.float64)), np.shape(value)

        def shifted_loss(w, name=name, shape=shape) -> float:
            return loss(X, Y_T, {**weights, name: w.reshape(shape)})

        gradient = gradcheck.numerical_gradient(shifted_loss, shifted, epsilon=epsilon)
        gradients[name] = gradient.reshape(1, -1) if name == "b1" else gradient
    return gradients


def gradient_check(X, Y_T, weights, epsilon: float = gradcheck.EPSILON) -> list[GradientCheckRow]:
    """Every weight entry: back_propagation's gradient against numerical_gradients, with
    gradcheck's relative error."""
    analytic = back_propagation(X, Y_T, weights)[0]
    numeric = numerical_gradients(X, Y_T, weights, epsilon)
    rows = []
    for name in weights:
        indices = list(np.ndindex(analytic[name].shape))
        rows += gradcheck.check_rows(name, analytic[name], numeric[name], indices)
    return rows


def gradient_descent(X, Y_T, weights, *, learning_rate: float, steps: int):
    """(weights after `steps` steps of w ← w − learning_rate dL/dw, losses (steps + 1,)): the loss
    before each step and after the last. The given weights are left as they were."""
    weights = {name: np.array(value, dtype=np.float64) for name, value in weights.items()}
    losses = []
    for _ in range(steps):
        gradients, L = back_propagation(X, Y_T, weights)
        losses.append(L)
        for name, gradient in gradients.items():
            weights[name] = weights[name] - learning_rate * gradient.reshape(weights[name].shape)
    losses.append(loss(X, Y_T, weights))
    return weights, np.array(losses)


def node_values(X, Y_T, weights, example: int | None = None) -> dict:
    """What the network drawing shows: for one example (an index into X) or the batch mean (None).

    x (2,), z1 (3,), h (3,), z2, y, y_t: the example's values (or their batch means); dz1 (3,),
    dz2: dL/dZ at each unit, which is also dL/db; gradients: back_propagation's, for the example's
    own loss ½(y − y_t)² or the batch's L (the mean of the examples' gradients); L."""
    if example is not None:
        if not 0 <= example < len(X):
            raise ValueError(f"example must be an index from 0 to {len(X) - 1}, got {example}")
        X, Y_T = X[example : example + 1], Y_T[example : example + 1]
    Y, Z2, H, Z1 = forward_propagation(X, weights)
    gradients, L = back_propagation(X, Y_T, weights)
    return {"x": X.mean(axis=0), "z1": Z1.mean(axis=0), "h": H.mean(axis=0),
            "z2": float(Z2.mean()), "y": float(Y.mean()), "y_t": float(np.mean(Y_T)),
            "dz1": gradients["b1"][0], "dz2": float(gradients["b2"][0]),
            "gradients": gradients, "L": L}
