"""The Class page (/class): the teacher's token at its door, the class's runs and students, the
teacher's settings; the launcher's teacher link. A SQLite class store in tmp_path."""

import argparse
from pathlib import Path

import pytest

from cnnviz.classroom import (
    ClassStore,
    checks,
    overview,
    questions,
    settings,
    students,
    tokens,
)
from cnnviz.serving import launch
from cnnviz.training import TrainConfig
from cnnviz.training.config import History
from cnnviz.training.runs import RunRecorder, new_run_dir
from cnnviz.ui import classroom as class_ui
from cnnviz.ui import teacher
from tests.class_app import MARKUP_NAME, ROOT, TOKEN, app, ok, shown, use_class_store


@pytest.fixture
def store(monkeypatch, tmp_path) -> ClassStore:
    return use_class_store(monkeypatch, tmp_path)


def failed_run(student_key: str, store: ClassStore) -> str:
    """A run of the student's that failed, in the runs folder."""
    run_dir = new_run_dir(TrainConfig(backend="numpy", epochs=2))
    RunRecorder(run_dir, TrainConfig(backend="numpy", epochs=2)).write_status(
        "failed", History(), error="Traceback ...\nMemoryError: out of memory")
    students.label_run(store, student_key, run_dir.name)
    return run_dir.name


@pytest.mark.parametrize("token", [None, "", "wrong-token-of-the-right-length-0", TOKEN + "x"])
def test_the_class_page_refuses_without_the_token_and_shows_no_student(store, token):
    students.join(store, "k" * 20, "Ada Lovelace")
    failed_run("k" * 20, store)
    questions.ask(store, "Output size?", "number", answer=12)
    at = app("class", token)
    assert [e.value for e in at.error] == [teacher.REFUSAL]
    assert "Ada" not in shown(at) and "Output size" not in shown(at)
    assert not at.dataframe and not at.metric and "token" not in at.query_params
    assert class_ui.TEACHER not in at.session_state


def test_the_right_token_is_accepted_leaves_the_address_and_the_session_stays_the_teachers(
        store):
    students.join(store, "k" * 20, "Ada Lovelace")
    students.seen(store, "k" * 20, "replica1")
    run = failed_run("k" * 20, store)
    finished = new_run_dir(TrainConfig(backend="numpy"))
    RunRecorder(finished, TrainConfig(backend="numpy")).write_status(
        "finished", History(test_accuracy=0.987))
    at = app("class", TOKEN)
    assert "token" not in at.query_params and not at.error
    assert "0.987" in at.get("plotly_chart")[0].proto.spec  # the leaderboard
    text = shown(at)
    assert "Ada Lovelace" in text and run in text and "Needs help (1)" in text
    assert "out of memory" in text
    assert any(metric.label == "replica1" and metric.value == "1" for metric in at.metric)
    at.switch_page("app_pages/convolution.py").run()
    at.switch_page("app_pages/class.py").run()
    assert ok(at).session_state[class_ui.TEACHER] and not at.error


def test_names_with_markup_are_shown_literally_on_the_class_page(store):
    students.join(store, "k" * 20, MARKUP_NAME)
    failed_run("k" * 20, store)
    at = app("class", TOKEN)
    assert MARKUP_NAME in str(at.dataframe[0].value.to_dict())
    help_line = next(m.value for m in at.markdown if "failed" in m.value)
    assert "<b>" not in help_line and "](javascript" not in help_line
    assert help_line.startswith(r"- **\<b\>Ada\</b\> \[x\]\(javascript\:alert\(1\)\)**")


def test_the_class_page_is_not_in_the_students_menu():
    source = (ROOT / "app.py").read_text()
    assert 'url_path=classroom.CLASS_PATH, visibility="hidden"' in source
    assert class_ui.CLASS_PATH == "class"


def test_teacher_settings_are_saved_for_the_class(store):
    at = app("class", TOKEN)
    form = at.get("form")
    assert form  # the settings form and the question form
    at.toggle[0].set_value(True)
    at.number_input[0].set_value(3)
    at.number_input[1].set_value(5000)
    next(b for b in at.button if b.label == "Save").click().run()
    ok(at)
    assert settings.read(store) == settings.TeacherSettings(True, 3, 5000)
    assert any("Saved" in s.value for s in at.success)


def test_teacher_settings_change_again_in_the_same_session(store):
    """Resume after pause: the form's widgets keep their identity when the stored values they
    start from change (a widget without a key took its start value as identity, so the second
    Save wrote the old values back)."""
    at = app("class", TOKEN)
    save = next(b for b in at.button if b.label == "Save")
    at.toggle[0].set_value(True)
    at.number_input[0].set_value(3)
    save.click().run()
    assert settings.read(store) == settings.TeacherSettings(True, 3, None)
    at.toggle[0].set_value(False)
    at.number_input[0].set_value(0)
    next(b for b in ok(at).button if b.label == "Save").click().run()
    assert settings.read(store) == settings.TeacherSettings(False, None, None)
    assert ok(at).toggle[0].value is False and at.number_input[0].value == 0


def test_the_runs_table_downloads_as_csv_with_names_as_text():
    run = argparse.Namespace(
        run_dir=Path("runs/20260101-000000-numpy-lenet5-mnist-abc123"),
        config=TrainConfig(backend="numpy", epochs=3), status="interrupted",
        history=History(epochs=[{"val_accuracy": 0.91234, "images_per_second": 812.4}]),
        error=None)
    rows = overview.class_rows([run], {run.run_dir.name: "=HYPERLINK(1)"})
    assert rows[0]["epoch"] == "1/3" and rows[0]["val_accuracy"] == 0.9123
    assert rows[0]["images_per_s"] == 812 and overview.needs_help(rows) == rows
    text = overview.rows_csv(rows)
    assert text.splitlines()[0] == ",".join(overview.COLUMNS)
    assert text.splitlines()[1].startswith("'=HYPERLINK(1),20260101")


def test_an_unreachable_class_store_gives_the_teacher_its_message(store, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder: no database
    at = app("class", TOKEN)
    assert len(at.error) == 1 and "cannot be reached" in at.error[0].value
    assert not at.dataframe


def test_bad_questions_and_a_store_lost_mid_lesson_give_messages_not_tracebacks(
        store, monkeypatch, tmp_path):
    at = app("class", TOKEN)
    next(b for b in at.button if b.label == "Ask").click().run()
    assert "the question is empty: write it out" in [e.value for e in ok(at).error]
    at.text_input[0].input("Which?")
    at.radio[0].set_value("choices")
    at.text_area[0].input("one choice only")
    next(b for b in at.button if b.label == "Ask").click().run()
    assert any("choices must be 2 to 8" in e.value for e in ok(at).error)
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path}")  # the store is gone
    next(b for b in at.button if b.label == "Save").click().run()
    assert any("cannot be reached" in e.value for e in ok(at).error)


def test_the_launcher_prints_the_teacher_link_and_gives_the_token_to_the_server(
        monkeypatch, capsys):
    started = {}
    monkeypatch.setattr(launch.os, "execve", lambda path, command, env: started.update(env))
    monkeypatch.setattr(launch.os, "chdir", lambda path: None)
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    launch.main(["--port", "8600"])
    first = started[tokens.TOKEN_ENV]
    assert f"http://localhost:8600/class?token={first}" in capsys.readouterr().out
    launch.main([])
    assert started[tokens.TOKEN_ENV] != first  # a new random token at every start
    launch.main(["--teacher-token", TOKEN, "--address", "10.1.2.3"])
    assert started[tokens.TOKEN_ENV] == TOKEN
    assert f"http://10.1.2.3:8501/class?token={TOKEN}" in capsys.readouterr().out
    assert launch.main(["--teacher-token", "short"]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_every_replica_gets_the_one_token_and_its_own_name(monkeypatch, tmp_path):
    from cnnviz.serving import replicas

    envs = []

    class Stopped(Exception):
        pass

    def start(self, name, command, **popen):
        if name.startswith("replica"):
            envs.append(popen["env"])
            if len(envs) == 2:
                raise Stopped
        return argparse.Namespace(poll=lambda: 0)

    monkeypatch.setattr(replicas, "haproxy_binary", lambda: "haproxy")
    monkeypatch.setattr(replicas.Supervisor, "start", start)
    monkeypatch.setattr(replicas.Supervisor, "stop", lambda self: None)
    env = launch.server_env(launch.parse_args([]), TOKEN)
    with pytest.raises(Stopped):
        replicas.serve(lambda port: ["server"], 2, "127.0.0.1:1", env, ray_address="ray:1")
    assert [e[tokens.TOKEN_ENV] for e in envs] == [TOKEN, TOKEN]
    assert [e[overview.REPLICA_ENV] for e in envs] == ["replica1", "replica2"]


def test_failing_course_checks_are_shown_to_the_teacher_with_the_students_name(store):
    students.join(store, "k" * 20, MARKUP_NAME)
    students.join(store, "m" * 20, "Grace Hopper")
    checks.record(store, "k" * 20, "conv_forward", 20, 28, "The kernel looks flipped.")
    checks.record(store, "m" * 20, "conv_forward", 28, 28, "")
    at = app("class", TOKEN)
    text = shown(at)
    assert "Course checks failing (1)" in text and "20 of 28 cases" in text
    assert "kernel looks flipped" in text and "Grace Hopper" not in text
    line = next(m.value for m in at.markdown if "20 of 28" in m.value)
    assert "<b>" not in line and "](javascript" not in line
