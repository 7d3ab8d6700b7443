"""The homework's cases and known mistakes: its 2-3-1 network from scratch, graded on
forward_propagation(X, weights) and back_propagation(X, Y_T, weights) with cnnviz.dense's
answers.

The first case is the homework's own example (dense.homework_example: N = 1,000, np.random.seed
(0)); random cases are seeded draws with the homework's shapes and conventions (weights
{"W1" (3, 2), "b1" (3,), "W2" (3,), "b2" a float}, X (N, 2), Y_T (N,) of 0 and 1), with non-zero
biases and N from 1 up. The known mistakes of back_propagation are replayed on a case's inputs:
gradients with the wrong sign, the 1/N average missing, the ½ of the loss dropped, σ'
computed on Z instead of on σ(Z).
"""

import numpy as np

from cnnviz.check.cases import TASKS, Case
from cnnviz.nn import dense

TEXTS = {
    "gradient_sign": "the gradients have the wrong sign: dL/dw points uphill, and the update "
                     "w ← w − learning_rate * dL/dw goes downhill; use (Y − Y_T), not (Y_T − Y)",
    "gradient_no_mean": "the gradients are not averaged over the N examples: L = 1/(2N) Σ (Y − "
                        "Y_T)², so dL/dY = (Y − Y_T) / N",
    "gradient_no_half": "the ½ of L = 1/(2N) Σ (Y − Y_T)² is missing (your values are twice "
                        "the expected ones): d/dY of ½ (Y − Y_T)² is (Y − Y_T)",
    "sigmoid_derivative_z": "σ'(Z) is computed as Z (1 − Z); it is σ(Z) (1 − σ(Z)), that is "
                            "Y (1 − Y) for the output and H (1 − H) for the hidden layer",
}


def _case(task: str, name: str, X, Y_T, weights, features: frozenset[str]) -> Case:
    args = {"X": X, "Y_T": Y_T, "weights": weights}
    args = {key: args[key] for key in TASKS[task][0]}
    return Case(task, name, args, expected_outputs(task, args), features)


def expected_outputs(task: str, args: dict) -> tuple[np.ndarray, ...]:
    """cnnviz.dense's answer, flattened as the grader compares it (gradients W1, b1, W2, b2,
    then L)."""
    if task == "forward_propagation":
        return tuple(np.asarray(a, dtype=np.float64)
                     for a in dense.forward_propagation(args["X"], args["weights"]))
    gradients, L = dense.back_propagation(args["X"], args["Y_T"], args["weights"])
    return (*(gradients[key] for key in ("W1", "b1", "W2", "b2")), np.asarray(L))


def cases(task: str, count: int, seed: int = 0) -> list[Case]:
    """The homework's own example, then `count` seeded random cases (N = 1 first, then 2 to
    60)."""
    X, Y_T, weights = dense.homework_example()
    found = [_case(task, "course: the homework's example (N = 1000, seed 0)", X, Y_T, weights,
                   frozenset({"several examples", "zero biases"}))]
    rng = np.random.default_rng(seed)
    for index in range(count):
        n = 1 if index == 0 else int(rng.integers(2, 61))
        weights = {"W1": rng.standard_normal((dense.HIDDEN, 2)),
                   "b1": rng.standard_normal(dense.HIDDEN),
                   "W2": rng.standard_normal(dense.HIDDEN), "b2": float(rng.standard_normal())}
        X, Y_T = rng.random((n, 2)), rng.integers(0, 2, size=n)
        found.append(_case(task, f"random {index + 1}", X, Y_T, weights,
                           frozenset({"one example" if n == 1 else "several examples",
                                      "non-zero biases"})))
    return found


# --- replays of the known mistakes (diagnose's Candidate: one entry per output) ---------------


def replays(case: Case):
    """(mistake key, thunk giving the outputs that mistake returns) for back_propagation."""
    if case.task != "back_propagation":
        return
    right = case.expected

    def scaled(factor, loss_factor=None):
        return lambda: (*(factor * g for g in right[:4]),
                        None if loss_factor is None else loss_factor * right[4])

    yield "gradient_sign", scaled(-1.0)
    yield "gradient_no_mean", scaled(float(len(case.args["X"])))
    yield "gradient_no_half", scaled(2.0, 2.0)
    for hidden, output in ((True, True), (True, False), (False, True)):
        yield "sigmoid_derivative_z", lambda h=hidden, o=output: _sigmoid_on_z(case, h, o)


def _sigmoid_on_z(case: Case, hidden: bool, output: bool) -> tuple:
    """back_propagation with σ' taken on Z instead of σ(Z) in the hidden layer, the output
    layer, or both."""
    X, Y_T, weights = case.args["X"], case.args["Y_T"], case.args["weights"]
    Y, Z2, H, Z1 = dense.forward_propagation(X, weights)
    dZ2 = (Y - Y_T) / len(X) * (Z2 * (1 - Z2) if output else Y * (1 - Y))
    dZ1 = np.outer(dZ2, weights["W2"]) * (Z1 * (1 - Z1) if hidden else H * (1 - H))
    return (dZ1.T @ X, dZ1.sum(axis=0, keepdims=True), H.T @ dZ2, dZ2.sum(keepdims=True), None)
