"""`cnnviz check` on the homework's 2-3-1 network: its functions found by their names, called with
dicts of weights, graded against cnnviz.dense; the known mistakes diagnosed; results that are not
the homework's dicts of numbers refused with a message. NumPy only: one child process per check.
The mistaken files are the right fixture (tests/fixtures/course/homework.py) with one line changed.
"""

import dataclasses
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from cnnviz.check import cli, diagnose, homework, queue, sandbox, solution
from cnnviz.check.report import image_slices
from cnnviz.nn import dense

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
RIGHT = FIXTURES / "homework.py"
FAST = solution.Options(random=4)

MISTAKES = {  # name -> (line of the right fixture, its mistaken version, diagnosis key, statuses)
    "no 1/N": ("dZ2 = (Y - Y_T) / N * Y * (1 - Y)", "dZ2 = (Y - Y_T) * Y * (1 - Y)",
               "gradient_no_mean", {"fail", "pass"}),  # N = 1: the one case it gets right
    "sigmoid' on Z": ("dZ1 = dH * H * (1 - H)", "dZ1 = dH * Z1 * (1 - Z1)",
                      "sigmoid_derivative_z", {"fail"}),
    "sigmoid' on Z2": ("dZ2 = (Y - Y_T) / N * Y * (1 - Y)", "dZ2 = (Y - Y_T) / N * Z2 * (1 - Z2)",
                       "sigmoid_derivative_z", {"fail"}),
    "no 1/2": ("dZ2 = (Y - Y_T) / N * Y * (1 - Y)", "dZ2 = 2 * (Y - Y_T) / N * Y * (1 - Y)",
               "gradient_no_half", {"fail"}),
    "db1 without keepdims": ('"b1": np.sum(dZ1, axis=0, keepdims=True)',
                             '"b1": np.sum(dZ1, axis=0)', "reshape", {"shape"}),
}


def mistaken(tmp_path: Path, line: str, replacement: str) -> Path:
    source = RIGHT.read_text()
    assert line in source, f"the fixture no longer has {line!r}"
    path = tmp_path / "homework.py"
    path.write_text(source.replace(line, replacement))
    return path


def test_the_homework_cases_are_dense_answers_with_the_homework_example_first():
    X, Y_T, weights = dense.homework_example()
    first, *random = homework.cases("back_propagation", 3, seed=1)
    assert first.course and np.array_equal(first.args["X"], X)
    gradients, L = dense.back_propagation(X, Y_T, weights)
    assert np.array_equal(first.expected[0], gradients["W1"]) and first.expected[4] == L
    assert [len(case.args["X"]) for case in random][0] == 1  # one example first
    assert all(isinstance(case.args["weights"]["b2"], float) for case in random)
    assert all(np.any(case.args["weights"]["b1"]) for case in random)  # biases matter
    assert first.describe() == ("X (1000, 2), Y_T (1000,), weights {W1 (3, 2), b1 (3,), W2 (3,), "
                                "b2 ()}")


def test_the_right_solution_is_found_by_its_functions_and_passes():
    assert solution.find_tasks(RIGHT, None) == ["forward_propagation", "back_propagation"]
    for task in ("forward_propagation", "back_propagation"):
        report = solution.check_task(RIGHT, task, FAST)
        assert [r.status for r in report.results] == ["pass"] * 5, report.problems
        assert report.summary == [] and report.problems == []


def test_wrong_sign_fixture_is_diagnosed_and_its_forward_passes(capsys):
    wrong = FIXTURES / "homework-wrong_sign.py"
    assert cli.main([str(wrong), "--random", "3"]) == 1
    output = capsys.readouterr().out
    assert "forward_propagation in" in output and "4 of 4 cases pass" in output
    assert "0 of 4 cases pass" in output  # back_propagation
    assert f"Most likely {diagnose.TEXTS['gradient_sign'][:40]}" in output


@pytest.mark.parametrize("name", list(MISTAKES))
def test_known_homework_mistake_is_diagnosed(name, tmp_path):
    line, replacement, key, statuses = MISTAKES[name]
    path = mistaken(tmp_path, line, replacement)
    report = solution.check_task(path, "back_propagation", FAST)
    assert {r.status for r in report.results} == statuses
    said = report.summary[0] if report.summary else " ".join(report.problems)
    assert diagnose.TEXTS[key].split("{")[0][:40] in said, said
    if "pass" in statuses:
        assert "Exactly the cases with several examples fail." in report.summary


def test_task_homework_grades_the_functions_the_file_defines(tmp_path, capsys):
    only_forward = tmp_path / "mine.py"
    only_forward.write_text(RIGHT.read_text().split("def back_propagation")[0])
    assert solution.find_tasks(only_forward, "homework") == ["forward_propagation"]
    assert cli.main([str(only_forward), "--task", "homework", "--random", "1"]) == 0
    assert "the homework's own example" in capsys.readouterr().out


RETURNS = {  # what back_propagation returns instead -> words of the message
    "[dW1, db1, dW2, db2], L": ("return [1.0, 2.0], 0.5", "returned a list where a dict with keys"),
    "a dict without b2": ('return {"W1": 1.0, "b1": 1.0, "W2": 1.0}, 0.5',
                          "without the key(s) b2 (it has 'W1', 'b1', 'W2')"),
    "an object": ('return {"W1": object(), "b1": 1, "W2": 1, "b2": 1}, 0.5',
                  "returned a object for key 'W1', not an array of numbers"),
    "one value": ("return 0.5", "returned float; expected a tuple of 2 values"),
}


@pytest.mark.parametrize("name", list(RETURNS))
def test_results_that_are_not_the_homeworks_dicts_are_refused(name, tmp_path):
    statement, words = RETURNS[name]
    path = tmp_path / "homework.py"
    path.write_text(f"def back_propagation(X, Y_T, weights):\n    {statement}\n")
    report = solution.check_task(path, "back_propagation", solution.Options(random=0))
    assert report.results[0].status == "return"
    assert words in report.problems[0], report.problems


def test_the_student_gets_the_homeworks_types(tmp_path):
    path = tmp_path / "homework.py"
    path.write_text("import numpy as np\n\n\ndef forward_propagation(X, weights):\n"
                    "    assert isinstance(weights['b2'], float), type(weights['b2'])\n"
                    "    assert weights['b1'].shape == (3,) and X.shape[1] == 2\n"
                    "    raise ValueError('types as the homework gives them')\n")
    report = solution.check_task(path, "forward_propagation", solution.Options(random=1))
    assert {r.status for r in report.results} == {"exception"}
    assert "types as the homework gives them" in report.problems[0]


def test_heatmaps_of_homework_outputs_are_two_dimensional(tmp_path):
    line, replacement, _, _ = MISTAKES["no 1/N"]
    report = solution.check_task(mistaken(tmp_path, line, replacement), "back_propagation",
                                 solution.Options(random=0))
    shapes = [image_slices(output)[0].shape for output in report.results[0].failing]
    assert shapes == [(3, 2), (1, 3), (1, 3), (1, 1)]  # dW1, db1, dW2, db2; L is right


def needs_sandbox() -> None:
    ok, reason = sandbox.available()
    if not ok:  # as tests/test_check_sandbox.py: CI installs bubblewrap
        message = f"the sandbox cannot start here: {reason}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_homework_is_graded_in_the_sandbox_as_on_the_page():
    needs_sandbox()
    options = solution.Options(random=1, sandbox=True)
    right = solution.check_task(RIGHT, "back_propagation", options)
    wrong = solution.check_task(FIXTURES / "homework-wrong_sign.py", "back_propagation", options)
    assert [r.status for r in right.results] == ["pass", "pass"], right.problems
    assert [r.status for r in wrong.results] == ["fail", "fail"], wrong.problems


def test_the_check_page_finds_grades_and_draws_the_homework(monkeypatch):
    from streamlit.testing.v1 import AppTest

    needs_sandbox()
    checks_queue = queue.CheckQueue(slots=1)
    monkeypatch.setattr(queue, "shared", lambda: checks_queue)
    monkeypatch.setattr(queue, "SERVER_OPTIONS",
                        dataclasses.replace(queue.SERVER_OPTIONS, random=1))
    page = str(Path(__file__).resolve().parents[1] / "app_pages" / "check.py")
    at = AppTest.from_file(page, default_timeout=60).run()
    upload = at.file_uploader(key="check_upload")
    at = upload.upload("mine.py", (FIXTURES / "homework-wrong_sign.py").read_bytes(),
                       "text/x-python").run()
    found = "Task found: homework: forward_propagation, homework: back_propagation"
    assert found in [re.sub(r"\\(.)", r"\1", markdown.value) for markdown in at.markdown]
    at = at.button(key="check_run").click().run()
    deadline = time.monotonic() + 60
    while "check_ticket" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception
    assert [s.value for s in at.success] == ["All 2 cases pass."]  # forward_propagation
    assert [e.value for e in at.error] == ["0 of 2 cases pass."]  # back_propagation
    assert diagnose.TEXTS["gradient_sign"][:30] in " ".join(w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 2 * 4  # two failing cases, four gradients each
