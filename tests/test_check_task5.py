"""`cnnviz check 5-lenet5.py`: the course's Keras lenet5(X) graded on the model it builds.

Each fixture's model is built once, in its own child process (each imports TensorFlow: several
seconds), four at a time; the reference's description is computed once for the session."""

import ast
import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.check import cli, keras_diagnose, keras_task, runner, solution
from tests.test_house import MODULES, imports, top_level

pytestmark = pytest.mark.tf

COURSE = Path(__file__).resolve().parent / "fixtures" / "course"
RIGHT = COURSE / "5-lenet5.py"
WRONG = {  # fixture -> words of its diagnosis
    "valid_conv1": ["padding='valid'", "24x24", "44,426 parameters instead of 61,706",
                    "yours has exactly that", "padding='same'"],
    "missing_relu": ["layer 7 (Dense) has no activation", "activation='relu'"],
    "pool_stride1": ["layer 2 (MaxPooling2D) pools with strides=(1, 1)", "(28, 28, 6) to "
                     "(27, 27, 6)", "strides=(2, 2)"],
    "no_softmax": ["output layer's activation is linear, not softmax"],
    "glorot": ["GlorotUniform (Keras' default)", "not He normal",
               "VarianceScaling(scale=2.0, mode='fan_in', distribution='truncated_normal')"],
    "sgd": ["compiled with SGD, not Adam", "K.optimizers.Adam()"],
    "no_flatten": ["Flatten is missing", "(5, 5, 16) maps", "(5, 5, 10)"],
}


@pytest.fixture(scope="session")
def reference():
    return keras_task.reference()


TRAINED = ("right", "sgd", "no_softmax")  # trained one epoch beside the reference; the rest not
BROKEN = {  # files that cannot be graded: name -> source
    "missing": "import tensorflow.keras as K\n",
    "returns_X": "import tensorflow.keras as K\ndef lenet5(X):\n    return X\n",
}


@pytest.fixture(scope="module")
def reports(reference, tmp_path_factory):
    """check_task's TaskReport of every task 5 fixture, by its name after "5-lenet5-", and of
    BROKEN's files."""
    paths = {path.stem.removeprefix("5-lenet5").lstrip("-") or "right": path
             for path in COURSE.glob("5-lenet5*.py")}
    folder = tmp_path_factory.mktemp("task5")
    for name, source in BROKEN.items():
        paths[name] = folder / f"{name}.py"
        paths[name].write_text(source)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(solution.check_task, path, "lenet5", solution.Options(
            train=name in TRAINED)) for name, path in paths.items()}
        return {name: future.result() for name, future in futures.items()}


def test_the_reference_is_the_courses_lenet5(reference):
    assert reference["params"] == 61_706
    assert [layer["class"] for layer in reference["layers"]] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense", "Dense"]
    assert reference["compiled"]["optimizer"]["class"] == "Adam"
    assert reference["compiled"]["metrics"] == ["accuracy"]


def test_the_right_solution_passes_every_point(reports):
    report = reports["right"]
    assert report.problems == [] and report.summary == []
    assert [r.status for r in report.results] == ["pass"] * len(report.results)
    assert len(report.results) == 8 + 6  # the eight layers, then parameters ... training


@pytest.mark.parametrize("name", list(WRONG))
def test_each_wrong_solution_gets_its_diagnosis(reports, name):
    report = reports[name]
    assert report.problems == []
    assert any(r.status == "fail" for r in report.results)
    said = " ".join(report.summary)
    for words in WRONG[name]:
        assert words in said, said
    assert cli.exit_code(report) == 1


@pytest.mark.parametrize("name", ["sgd", "no_softmax"])
def test_a_model_that_learns_far_less_in_one_epoch_fails_its_training(reports, name):
    training = {r.case.name: r for r in reports[name].results}["training"]
    assert training.status == "fail" and "after one epoch" in training.case.got


def test_each_mistake_is_said_only_where_it_is(reports):
    """A diagnosis is not said of the fixtures without its mistake."""
    for name in WRONG:
        for other, words in WRONG.items():
            if other != name:
                assert words[0] not in " ".join(reports[name].summary), (name, other)


def test_tf_layers_says_what_to_use_instead(reports):
    report = reports["tf_layers"]
    assert report.results == [] and len(report.problems) == 1
    problem = report.problems[0]
    assert "raised AttributeError in lenet5(X)" in problem
    assert "tf.layers is TensorFlow 1's API, gone from TensorFlow 2.16" in problem
    assert "K.layers.Conv2D" in problem and "has no attribute 'layers'" in problem


def test_the_task_is_found_from_the_name_or_a_keras_lenet5_signature():
    source = RIGHT.read_text()
    assert solution.find_tasks_in(source, "5-lenet5.py") == ["lenet5"]
    assert solution.find_tasks_in(source, "mine.py") == ["lenet5"]
    assert solution.find_tasks_in("import numpy\ndef lenet5(X):\n    pass\n", "5-lenet5.py") == [
        "lenet5"]
    with pytest.raises(ValueError, match="defines none of the course's functions"):
        solution.find_tasks_in("import numpy as np\ndef lenet5(X):\n    pass\n", "mine.py")
    assert solution.find_tasks_in(  # task 4's signature: not task 5
        "import tensorflow as tf\ndef lenet5(x, y):\n    pass\n", "m.py") == ["lenet5_tf1"]
    assert solution.find_tasks_in("x = 1\n", "mine.py", "5") == ["lenet5"]


def test_cli_grades_task_5_and_prints_the_failing_points(capsys):
    code = cli.main([str(COURSE / "5-lenet5-sgd.py"), "--task", "5"])
    out = capsys.readouterr().out
    assert code == 1
    assert "12 of 14 points pass" in out  # the optimizer, and the epoch's accuracy
    assert "optimizer: expected Adam(learning_rate=0.001, beta_1=0.9" in out
    assert "yours: SGD(learning_rate=0.01)" in out


def test_a_missing_function_and_a_wrong_return_are_paragraphs(reports):
    for name, words in (("missing", "defines no function lenet5"),
                        ("returns_X", "returned KerasTensor; expected the keras.Model built on X")):
        assert reports[name].results == [] and words in reports[name].problems[0]
        assert cli.exit_code(reports[name]) == 2


def test_the_child_leaves_only_plain_json_the_parent_checks(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"layers": "not a list"}))
    assert runner._model(tmp_path / "model.json") is None
    (tmp_path / "model.json").write_text("[1, 2]")
    assert runner._model(tmp_path / "model.json") is None


def test_separate_activation_layers_count_as_their_layers():
    model = {"layers": [{"class": "Dense", "units": 84, "activation": "linear"},
                        {"class": "Activation", "activation": "relu", "output_shape": [None, 84]}]}
    assert keras_task.layers(model) == [{"class": "Dense", "units": 84, "activation": "relu",
                                         "output_shape": [None, 84]}]


def test_tf_layers_note_reads_the_source_even_without_an_error():
    assert "tf.layers" in keras_diagnose.tf_layers_note("import tensorflow as tf\n"
                                                        "y = tf.layers.dense(x, 3)\n", "")
    assert keras_diagnose.tf_layers_note(RIGHT.read_text(), "") == ""


def test_the_keras_child_imports_nothing_from_cnnviz_nor_keras_at_module_level():
    path = MODULES["cnnviz.check.keras_child"]
    assert "cnnviz" not in top_level(imports(path, module_level=False))
    assert not {"tensorflow", "keras"} & top_level(imports(path))
    assert ast.parse(path.read_text())  # a plain script


@pytest.mark.skipif(not __import__("cnnviz.check.sandbox").check.sandbox.available()[0],
                    reason="the sandbox cannot start here")
def test_task_5_runs_in_the_sandbox():
    run = runner.run_model(RIGHT, sandbox=True)
    assert run.built.kind == "ok" and run.model["params"] == 61_706


def test_the_html_report_shows_the_points_in_words(reports, tmp_path):
    from cnnviz.check.report import write_report

    write_report(tmp_path / "report.html", [reports["valid_conv1"]])
    page = (tmp_path / "report.html").read_text()
    assert "7 of 13 points pass" in page
    assert "<h3>layer 1</h3><p>expected Conv2D 6 5x5, padding same" in page
    assert "yours: Conv2D 6 5x5, padding valid, stride 1x1, relu -&gt; (24, 24, 6)" in page


def test_a_description_the_file_forged_is_refused_in_a_paragraph(monkeypatch, reference):
    forged = {"layers": [{"class": "Dense", "output_shape": 5, "kernel_initializer": {
        "scale": "x", "mode": 1, "distribution": 2}}], "params": "many",
        "compiled": {"optimizer": 7}}
    monkeypatch.setattr(solution, "run_model", lambda *args, **kwargs: runner.ModelRun(
        runner.Outcome("ok"), runner.Outcome("ok"), forged))
    report = solution.check_task(RIGHT, "lenet5")
    assert report.results == []
    assert "left a model description the grader cannot read" in report.problems[0]


def test_the_trained_references_of_tasks_4_and_5_leave_tensorflow_out_of_the_server():
    """A server's first task-4 or task-5 check once trained the course's reference in the
    server itself: TensorFlow in the server (~460 MiB) and every explorer page slow for minutes
    (BENCHMARKS.md, check). They are computed in a child; the grader's process never imports it."""
    code = ("import sys, json; from cnnviz.check import beside, tf1_task; "
            "k = beside.keras_reference(); d, t = tf1_task.reference(); "
            "print(json.dumps([k['accuracy'], t['accuracy'], sorted(d), "
            "[m for m in ('tensorflow', 'keras') if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=True, cwd=Path(__file__).resolve().parents[1])
    keras_accuracy, tf1_accuracy, described, imported = json.loads(done.stdout.splitlines()[-1])
    assert 0.5 < keras_accuracy <= 1 and 0.8 < tf1_accuracy <= 1
    assert "layers" in described and imported == []
