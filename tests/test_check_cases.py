"""The graded cases, the grading and the report's figure, without a student process."""

import numpy as np
import pytest

from cnnviz.check import cases, diagnose
from cnnviz.check.grade import grade, table_row
from cnnviz.check.runner import Outcome
from cnnviz.figures.check import comparison_figure
from cnnviz.nn import ops

# tasks 0-3; the homework's cases have their own tests (test_check_homework.py)
CONV_POOL = [task for task in cases.TASKS if task not in cases.HOMEWORK]


def course_same_pads(case: cases.Case):
    """The symmetric padding of the course's formula ph = ((h_prev - 1) * sh + kh - h_prev) // 2."""
    (h, w), (kh, kw), (sh, sw) = (case.args["A_prev"].shape[1:3], case.args["W"].shape[:2],
                                  case.args["stride"])
    ph, pw = ((h - 1) * sh + kh - h) // 2, ((w - 1) * sw + kw - w) // 2
    return (ph, ph), (pw, pw)


@pytest.mark.parametrize("task", CONV_POOL)
def test_course_cases_are_unambiguous_and_follow_the_course(task):
    course = cases.course_cases(task)
    assert course and all(case.course for case in course)
    for case in course:
        assert case.args["A_prev"].shape[0] == cases.COURSE_DIGITS
        assert case.args["A_prev"].min() >= 0 and case.args["A_prev"].max() <= 1
        if case.args.get("padding") == "same":  # the course's "same" and TensorFlow's agree
            assert case.pads() == course_same_pads(case)
        assert "'same' with an even kernel or a stride > 1" not in case.features


@pytest.mark.parametrize("task", CONV_POOL)
def test_random_cases_cover_every_rule_and_are_seeded(task):
    drawn = cases.random_cases(task, 8, seed=5)
    again = cases.random_cases(task, 8, seed=5)
    for first, second in zip(drawn, again):
        for name, value in first.args.items():
            assert np.array_equal(value, second.args[name])
    features = set().union(*(case.features for case in drawn))
    assert {"stride > 1", "strides differ by axis", "non-square kernel",
            "several input channels"} <= features
    if task.startswith("conv"):
        assert {"padding 'same'", "padding 'valid'", "explicit padding",
                "'same' with an even kernel or a stride > 1"} <= features
    else:
        assert {"mode 'max'", "mode 'avg'", "overlapping windows"} <= features
    if task == "pool_backward":
        assert "tied maxima" in features
    assert all(a.dtype == np.float64 for case in drawn for a in case.expected)


def test_random_cases_are_refused_for_the_homework_not_drawn_forever():
    with pytest.raises(ValueError, match="tasks 0-3"):
        cases.random_cases("back_propagation", 2)


def test_expected_outputs_come_from_ops():
    case = cases.random_cases("pool_backward", 1)[0]
    a = case.args
    assert np.array_equal(case.expected[0], ops.pool_backward(
        a["dA"], a["A_prev"], a["kernel_shape"], a["stride"], a["mode"], tie_break="all"))


def test_grade_reports_max_error_and_first_wrong_index():
    case = cases.random_cases("conv_forward", 1)[0]
    got = case.expected[0].copy()
    got[0, 1, 2, 0] += 0.5
    got[0, 2, 0, 0] += 0.25
    result = grade(case, Outcome("ok", (got,)))
    assert result.status == "fail"
    assert result.outputs[0].first_wrong == (0, 1, 2, 0)
    _, status, error, where = table_row(result)
    assert (status, error, where) == ("FAIL", "0.5", "A[0, 1, 2, 0]")


def test_grade_within_the_course_tolerance_passes():
    case = cases.random_cases("conv_forward", 1)[0]
    got = case.expected[0] * (1 + 1e-7)
    assert grade(case, Outcome("ok", (got,))).status == "pass"


def test_feature_hints_name_the_kind_of_case_that_fails():
    drawn = cases.random_cases("conv_forward", 6)
    results = []
    for case in drawn:
        got = case.expected[0] + (1.0 if "stride > 1" in case.features else 0.0)
        results.append(grade(case, Outcome("ok", (got,))))
    assert "Exactly the cases with stride > 1 fail." in diagnose.feature_hints(results)


def test_comparison_figure_shows_expected_got_and_difference():
    expected, got = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3)
    got[1, 2] = 9.0
    figure = comparison_figure(expected, got, "A")
    assert [trace.type for trace in figure.data] == ["heatmap"] * 3
    assert np.array_equal(np.asarray(figure.data[2].z), got - expected)
    shorter = comparison_figure(expected, got[:, :2], "A")  # shapes differ: the common part
    assert np.asarray(shorter.data[2].z).shape == (2, 2)
