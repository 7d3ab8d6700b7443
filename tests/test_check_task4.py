"""`cnnviz check 4-lenet5.py`: the course's TensorFlow-1 lenet5(x, y) graded on the graph it
builds and on how it trains beside the reference.

Each fixture runs once, in its own child process (each imports TensorFlow and trains for
seconds), in the sandbox when it can start here (as the server runs them), three at a time; the
wrong fixtures carry several mistakes each to keep the children few. The diagnosis of each
mistake alone is tested without TensorFlow, on the reference's description with one fact
changed."""

import ast
import concurrent.futures
import copy
import json
import time
from pathlib import Path

import pytest

from cnnviz.check import cli, runner, sandbox, solution, tf1_diagnose, tf1_task
from tests.test_house import MODULES, imports, top_level

pytestmark = pytest.mark.tf

COURSE = Path(__file__).resolve().parent / "fixtures" / "course"
RIGHT = COURSE / "4-lenet5.py"
WRONG = {  # fixture after "4-lenet5-" -> words of its diagnosis
    "valid_glorot_sgd_logits": [
        "conv1 has padding='valid'", "44,426 parameters instead of 61,706",
        "layer 7 (Dense) has no activation", "kernels 1, 2, 3, 4 are not He normal",
        "VarianceScaling(scale=2.0)", "with GradientDescent, not Adam",
        "y_pred, the first value returned, comes from BiasAdd, not a softmax"],
    "stride1_softmax_twice": [
        "layer 2 (MaxPooling2D) pools with strides=(1, 1)", "246,026 parameters",
        "The loss's logits already went through a softmax"],
}
FAILING = {  # fixtures lenet5(x, y) fails in -> words of their paragraph
    "no_flatten": ["raised ValueError in lenet5(x, y)", "are incompatible",
                   "Flatten is missing: Dense on the (5, 5, 16) maps", "y_pred is (5, 5, 10)"],
    "tf_layers": ["raised AttributeError in lenet5(x, y)", "tf.layers is TensorFlow 1's API, "
                  "gone from TensorFlow 2.16", "tf.keras.layers (Conv2D",
                  "tf.compat.v1.get_variable", "has no attribute 'layers'"],
}
SANDBOX = sandbox.available()[0]


@pytest.fixture(scope="session")
def reference():
    return tf1_task.reference()


@pytest.fixture(scope="module")
def reports(reference):
    """check_task's TaskReport of every task 4 fixture, by its name after "4-lenet5-"."""
    paths = {path.stem.removeprefix("4-lenet5").lstrip("-") or "right": path
             for path in COURSE.glob("4-lenet5*.py")}
    options = solution.Options(sandbox=SANDBOX)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(solution.check_task, path, "lenet5_tf1", options)
                   for name, path in paths.items()}
        return {name: future.result() for name, future in futures.items()}


def test_the_reference_is_the_courses_lenet5_and_learns(reference):
    expected, trained = reference
    assert expected["params"] == 61_706
    assert [r["op"] if r["kind"] == "tensor" else r["kind"] for r in expected["returned"]] == [
        "Softmax", "operation", "Mean", "Mean"]
    assert [layer["class"] for layer in tf1_task.layers(expected)] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense", "Dense"]
    assert expected["optimizer"]["class"] == "Adam" and len(expected["kernels"]) == 5
    assert all(tf1_task.is_he(kernel) for kernel in expected["kernels"])
    assert 0.8 < trained["accuracy"] == pytest.approx(trained["accuracy_tensor"])
    assert trained["loss_last"] < trained["loss_first"] / 3


def test_the_right_solution_passes_every_point(reports):
    report = reports["right"]
    assert report.problems == [] and report.summary == []
    assert [r.status for r in report.results] == ["pass"] * len(report.results)
    assert len(report.results) == 4 + 8 + 6  # returns, layers, parameters ... accuracy value
    assert cli.exit_code(report) == 0


@pytest.mark.parametrize("name", list(WRONG))
def test_each_wrong_solution_gets_its_diagnosis(reports, name):
    report = reports[name]
    assert report.problems == [] and cli.exit_code(report) == 1
    said = " ".join(report.summary)
    for words in WRONG[name]:
        assert words in said, said


@pytest.mark.parametrize("name", list(FAILING))
def test_a_failing_build_is_one_paragraph_that_says_why(reports, name):
    report = reports[name]
    assert report.results == [] and len(report.problems) == 1 and cli.exit_code(report) == 2
    for words in FAILING[name]:
        assert words in report.problems[0], report.problems[0]


def test_a_mistake_is_said_only_where_it_is(reports):
    for name, words in WRONG.items():
        others = " ".join(" ".join(reports[other].summary) for other in WRONG if other != name)
        assert all(said not in others for said in words[::2]), name


def _changed(reference, change) -> list[str]:
    expected, trained = copy.deepcopy(reference)
    got, training = copy.deepcopy(reference)
    change(got, training)
    return tf1_diagnose.diagnose(expected, got, trained, training)


MISTAKES = {  # one fact changed in the reference's description -> words of its only line
    "Glorot": (lambda got, _: got["kernels"][0].update(std=got["kernels"][0]["std"] * 0.4),
               "The initial weights of kernel 1 are not He normal"),
    "Adam's epsilon": (lambda got, _: got["optimizer"]["config"].update(epsilon=0.1),
                       "Adam has epsilon 0.1"),
    "RMSProp": (lambda got, _: got.update(optimizer={"class": "RMSProp", "config": {}}),
                "with RMSProp, not Adam"),
    "no optimizer": (lambda got, _: got.update(optimizer=None), "No optimizer updates"),
    "softmax twice": (lambda got, _: got["loss"].update(softmax_on_logits=True),
                      "already went through a softmax"),
    "logits": (lambda got, _: got["returned"][0].update(op="AddV2"), "comes from AddV2"),
    "training": (lambda _, training: training.update(accuracy=training["accuracy"] - 0.2),
                 "your network reaches"),
}


def test_the_reference_has_nothing_to_diagnose(reference):
    assert _changed(reference, lambda got, training: None) == []


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_alone_is_diagnosed_alone(reference, name):
    change, words = MISTAKES[name]
    lines = _changed(reference, change)
    assert len(lines) == 1 and words in lines[0], lines


def test_a_second_softmax_on_the_way_to_y_pred_is_said(reference):
    def change(got, _):
        got["layers"].append({"class": "Activation", "activation": "softmax",
                              "output_shape": [None, 10]})

    assert any("The softmax is applied 2 times" in line for line in _changed(reference, change))


def test_the_points_show_a_mistake_in_words(reference):
    expected, trained = reference
    got, training = copy.deepcopy(reference)
    got["optimizer"] = {"class": "GradientDescent", "config": {}}
    training["accuracy"] = training["accuracy_tensor"] = trained["accuracy"] - 0.2
    failing = {r.case.name: r.case.got for r in tf1_task.points(expected, got, trained, training)
               if r.status != "pass"}
    assert failing == {"optimizer": "GradientDescent()",
                       "training": f"accuracy {trained['accuracy'] - 0.2:.3f} after 300 steps"}


def test_the_task_is_found_from_the_name_or_a_tf1_lenet5_signature():
    source = RIGHT.read_text()
    assert solution.find_tasks_in(source, "4-lenet5.py") == ["lenet5_tf1"]
    assert solution.find_tasks_in(source, "mine.py") == ["lenet5_tf1"]
    assert solution.find_tasks_in(source, "5-lenet5.py") == ["lenet5"]  # the name first
    assert solution.find_tasks_in("x = 1\n", "mine.py", "4") == ["lenet5_tf1"]
    with pytest.raises(ValueError):  # no TensorFlow: not a course LeNet-5
        solution.find_tasks_in("import numpy\ndef lenet5(x, y):\n    pass\n", "mine.py")


def test_cli_grades_task_4_and_prints_the_failing_points(monkeypatch, reference, capsys):
    expected, trained = reference
    got = copy.deepcopy(expected)
    got["optimizer"] = {"class": "GradientDescent", "config": {}}
    monkeypatch.setattr(solution, "run_tf1", lambda *args, **kwargs: runner.ModelRun(
        runner.Outcome("ok"), runner.Outcome("ok"), got, "train", runner.Outcome("ok"), trained))
    code = cli.main([str(RIGHT)])
    out = capsys.readouterr().out
    assert code == 1 and "17 of 18 points pass" in out and "lenet5(x, y)" in out
    assert "optimizer: expected Adam(learning_rate=0.001, beta1=0.9" in out
    assert "with GradientDescent, not Adam" in out


def test_a_description_the_file_forged_is_refused_in_a_paragraph(monkeypatch, reference):
    forged = {"layers": [{"class": "Dense", "output_shape": 5}], "returned": 3, "params": "x"}
    monkeypatch.setattr(solution, "run_tf1", lambda *args, **kwargs: runner.ModelRun(
        runner.Outcome("ok"), runner.Outcome("ok"), forged, "train"))
    report = solution.check_task(RIGHT, "lenet5_tf1")
    assert report.results == []
    assert "left a graph description the grader cannot read" in report.problems[0]


def test_the_child_leaves_only_plain_json_the_parent_checks(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps([1, 2]))
    assert runner._model(tmp_path / "train.json", "accuracy") is None
    (tmp_path / "train.json").write_text(json.dumps({"steps": 300, "accuracy": 0.9}))
    assert runner._model(tmp_path / "train.json", "accuracy") == {"steps": 300, "accuracy": 0.9}


def test_the_tf1_child_imports_nothing_from_cnnviz_nor_tensorflow_at_module_level():
    path = MODULES["cnnviz.check.tf1_child"]
    assert "cnnviz" not in top_level(imports(path, module_level=False))
    assert not {"tensorflow", "keras"} & top_level(imports(path))
    assert ast.parse(path.read_text())


def test_the_check_page_finds_task_4_and_shows_its_points(monkeypatch, reference):
    """The page under AppTest, its queue's work replaced by a report of a graph with SGD."""
    from streamlit.testing.v1 import AppTest

    from cnnviz.check import queue
    from cnnviz.check.grade import TaskReport

    if not SANDBOX:
        pytest.skip("the sandbox cannot start here: the page grades nothing")
    expected, trained = reference
    got = copy.deepcopy(expected)
    got["optimizer"] = {"class": "GradientDescent", "config": {}}
    report = TaskReport("lenet5_tf1", RIGHT, tf1_task.points(expected, got, trained, trained), {},
                        tf1_diagnose.diagnose(expected, got, trained, trained), [])
    checks_queue = queue.CheckQueue(slots=1)
    monkeypatch.setattr(queue, "shared", lambda: checks_queue)
    monkeypatch.setattr(queue, "check_in_sandbox", lambda name, data, tasks: [report])
    page = Path(__file__).resolve().parents[1] / "app_pages" / "check.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    at = at.file_uploader(key="check_upload").upload("4-lenet5.py", RIGHT.read_bytes(),
                                                     "text/x-python").run()
    assert any("Task found: 4-lenet5.py (lenet5_tf1)" in m.value.replace("\\", "")
               for m in at.markdown)
    at = at.button(key="check_run").click().run()
    for _ in range(100):  # the page polls until the report is drawn
        if "check_ticket" not in at.session_state:
            break
        time.sleep(0.1)
        at.run()
    assert not at.exception and [e.value for e in at.error] == ["17 of 18 points pass."]
    assert any("with GradientDescent, not Adam" in w.value for w in at.warning)
