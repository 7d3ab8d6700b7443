"""cnnviz.nn.gradcheck: the one numerical gradient and the one relative error."""

import numpy as np
import pytest

from cnnviz.nn import gradcheck


def test_numerical_gradient_of_a_known_function_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    numeric = gradcheck.numerical_gradient(lambda v: float(np.sum(v**3)), x)
    np.testing.assert_allclose(numeric, 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_at_chosen_indices_only():
    x = np.arange(6.0).reshape(2, 3)
    numeric = gradcheck.numerical_gradient(lambda v: float(np.sum(v**2)), x, [(1, 2), (0, 0)])
    assert numeric[1, 2] == pytest.approx(10.0) and numeric[0, 0] == pytest.approx(0.0, abs=1e-8)
    assert np.isnan(numeric).sum() == 4


def test_relative_error_is_relative_above_the_floor_and_absolute_below():
    assert gradcheck.relative_error(2.0, 1.0) == pytest.approx(0.5)
    assert gradcheck.relative_error(0.02, 0.01) == pytest.approx(0.5)
    assert gradcheck.relative_error(0.0, 1e-9) == pytest.approx(1e-9 / gradcheck.FLOOR)
    assert gradcheck.relative_error(0.0, 0.0) == 0.0


def test_check_rows_name_each_entry():
    rows = gradcheck.check_rows("W", np.array([1.0, 2.0]), np.array([1.0, 1.0]), [(1,)])
    assert rows == [gradcheck.GradientCheckRow("W", (1,), 2.0, 1.0, 0.5)]


def test_table_shows_the_error_under_one_label():
    row = gradcheck.GradientCheckRow("b", (0, 2), 0.25, 0.5, 0.5)
    assert gradcheck.table([row]) == [{"parameter": "b", "index": "(0, 2)", "analytic": 0.25,
                                       "numeric": 0.5, gradcheck.ERROR_LABEL: "5.0e-01"}]
